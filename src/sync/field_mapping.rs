//! A connection's field mapping: FAPI fields the built-in mapping does not send, sent as order
//! attributes or contact custom fields, as the connection's admins chose. Pure: the rules, the
//! documents and the client record in; the order and contact changed, or a per-order error.
//!
//! | FAPI field | read from |
//! |---|---|
//! | custom field (by name) | the documents' `custom_fields` (the principal document first); a multi-checkbox gives each ticked value |
//! | shipping method | `shipping_method.name` |
//! | payment type | `payment_type` |
//! | discount code | `discount_code`, else `campaign_code` |
//! | labels | the labels' names, each a value |
//! | language | `language` |
//! | IČ, DIČ | the client record's `ic`, `dic` |
//! | variable symbol | `variable_symbol` |
//!
//! A text target takes the values joined by ", "; a choice target (select, radio, checkbox)
//! takes the options the rule maps the values to, and a value with no option is an error of
//! that order. A field with no value sends nothing (SmartEmailing leaves the field as it was).

use std::collections::HashMap;

use crate::fapi::Invoice;
use crate::model::{FapiField, FieldRule, MappingTarget};
use crate::smartemailing::{
    Attribute, ContactImport, CustomFieldDefinition, CustomFieldValue, OrderImport,
};
use crate::sync::mapping::{BuyerDetails, MappingError, principal};

/// The values of a FAPI field for an order's documents: none when it is not filled.
pub fn values(
    field: &FapiField,
    documents: &[Invoice],
    buyer: Option<&BuyerDetails>,
) -> Vec<String> {
    let Some(main) = principal(documents) else {
        return Vec::new();
    };
    let one = |value: Option<&String>| -> Vec<String> {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .into_iter()
            .collect()
    };
    match field {
        FapiField::CustomField(name) => {
            // The principal document first, then the others (a final invoice may lack the
            // form's fields its proforma had).
            let others = documents.iter().filter(|d| d.id != main.id);
            std::iter::once(main)
                .chain(others)
                .find_map(|document| {
                    document
                        .custom_fields
                        .iter()
                        .find(|(field, _)| field.trim().eq_ignore_ascii_case(name.trim()))
                        .map(|(_, value)| split_multi(value))
                })
                .unwrap_or_default()
        }
        FapiField::ShippingMethod => one(main.shipping_method.as_ref()),
        FapiField::PaymentType => one(main.payment_type.as_ref()),
        FapiField::DiscountCode => one(main.discount_code.as_ref()),
        FapiField::Labels => main
            .labels
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        FapiField::Language => one(main.language.as_ref()),
        FapiField::CompanyId => one(buyer.and_then(|b| b.ic.as_ref())),
        FapiField::VatId => one(buyer.and_then(|b| b.dic.as_ref())),
        FapiField::VariableSymbol => one(main.variable_symbol.as_ref()),
    }
}

/// A multi-checkbox's value is a JSON list in a string (`"[\"a\",\"b\"]"`); anything else is
/// one value.
fn split_multi(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.starts_with('[')
        && let Ok(list) = serde_json::from_str::<Vec<serde_json::Value>>(trimmed)
    {
        return list
            .into_iter()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if trimmed.is_empty() {
        Vec::new()
    } else {
        vec![trimmed.to_string()]
    }
}

/// Applies the rules to a built order and contact.
pub fn apply(
    rules: &[FieldRule],
    documents: &[Invoice],
    buyer: Option<&BuyerDetails>,
    order: &mut OrderImport,
    contact: &mut ContactImport,
) -> Result<(), MappingError> {
    for rule in rules {
        let values = values(&rule.source, documents, buyer);
        if values.is_empty() {
            continue;
        }
        match &rule.target {
            MappingTarget::OrderAttribute { name } => {
                let value = values.join(", ");
                // A rule may replace a built-in attribute of the same name.
                match order.attributes.iter_mut().find(|a| &a.name == name) {
                    Some(attribute) => attribute.value = value,
                    None => order.attributes.push(Attribute {
                        name: name.clone(),
                        value,
                    }),
                }
            }
            MappingTarget::ContactField {
                id,
                name,
                choice: false,
            } => set_field(contact, *id, Some(values.join(", ")), Vec::new(), name)?,
            MappingTarget::ContactField {
                id,
                name,
                choice: true,
            } => {
                let mut options = Vec::with_capacity(values.len());
                for value in &values {
                    let option = rule
                        .options
                        .iter()
                        .find(|o| o.fapi_value.trim().eq_ignore_ascii_case(value))
                        .ok_or_else(|| MappingError::NoOption {
                            field: name.clone(),
                            value: value.clone(),
                        })?;
                    if !options.contains(&option.option_id) {
                        options.push(option.option_id);
                    }
                }
                set_field(contact, *id, None, options, name)?
            }
        }
    }
    Ok(())
}

/// Sets a contact custom field; two rules writing one field is the user's mistake, said so.
fn set_field(
    contact: &mut ContactImport,
    id: i64,
    value: Option<String>,
    options: Vec<i64>,
    name: &str,
) -> Result<(), MappingError> {
    if contact.customfields.iter().any(|f| f.id == id) {
        return Err(MappingError::FieldTwice {
            field: name.to_string(),
        });
    }
    contact
        .customfields
        .push(CustomFieldValue { id, value, options });
    Ok(())
}

/// Checks a contact's custom-field values against the account's fields as SmartEmailing lists
/// them now: a field deleted since the mapping was saved, or an option deleted from it, is an
/// error of this order (with the field's name), not of the batch.
pub fn check_against(
    contact: &ContactImport,
    fields: &HashMap<i64, &CustomFieldDefinition>,
) -> Result<(), String> {
    for value in &contact.customfields {
        let Some(field) = fields.get(&value.id) else {
            return Err(format!(
                "SmartEmailing has no custom field {} any more; edit the connection's field mapping",
                value.id
            ));
        };
        if let Some(missing) = missing_option(field, value.options.iter().copied()) {
            return Err(format!(
                "the custom field \"{}\" in SmartEmailing has no option {missing} any more; edit the connection's field mapping",
                field.name
            ));
        }
    }
    Ok(())
}

/// The first of these option ids the field does not have.
fn missing_option(
    field: &CustomFieldDefinition,
    mut ids: impl Iterator<Item = i64>,
) -> Option<i64> {
    ids.find(|id| !field.customfield_options.iter().any(|o| o.id == *id))
}

/// Checks rules before they are saved: names present, every target field known to the account,
/// and every mapped option one of the field's. The message says which rule is wrong.
pub fn validate(
    rules: &[FieldRule],
    fields: Option<&[CustomFieldDefinition]>,
) -> Result<(), String> {
    for (index, rule) in rules.iter().enumerate() {
        let line = index + 1;
        if let FapiField::CustomField(name) = &rule.source
            && name.trim().is_empty()
        {
            return Err(format!("rule {line}: the FAPI custom field has no name"));
        }
        match &rule.target {
            MappingTarget::OrderAttribute { name } => {
                if name.trim().is_empty() {
                    return Err(format!("rule {line}: the attribute has no name"));
                }
                if name.chars().count() > 100 {
                    return Err(format!(
                        "rule {line}: the attribute's name is longer than 100 characters"
                    ));
                }
            }
            MappingTarget::ContactField { id, .. } => {
                let Some(fields) = fields else {
                    return Err(format!(
                        "rule {line}: SmartEmailing's custom fields could not be read to check the field"
                    ));
                };
                let Some(field) = fields.iter().find(|f| f.id == *id) else {
                    return Err(format!(
                        "rule {line}: SmartEmailing has no custom field {id}"
                    ));
                };
                if let Some(bad) = missing_option(field, rule.options.iter().map(|o| o.option_id)) {
                    return Err(format!(
                        "rule {line}: the field \"{}\" has no option {bad}",
                        field.name
                    ));
                }
            }
        }
    }
    let mut targets: Vec<i64> = rules
        .iter()
        .filter_map(|r| match r.target {
            MappingTarget::ContactField { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    targets.sort_unstable();
    if targets.windows(2).any(|w| w[0] == w[1]) {
        return Err("two rules write the same SmartEmailing custom field".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fapi::{Customer, DocumentKind};
    use crate::model::OptionMapping;
    use crate::smartemailing::{CustomFieldOption, OrderStatus};

    fn document(id: i64, custom: &[(&str, &str)]) -> Invoice {
        Invoice {
            id,
            number: Some(format!("2026{id:06}")),
            variable_symbol: Some("2026000777".into()),
            kind: DocumentKind::Invoice,
            paid: false,
            paid_on: None,
            cancelled: false,
            has_credit_note: false,
            created_on: None,
            last_modified_on: None,
            new_order: Some(1),
            parent: None,
            client: Some(5),
            customer: Customer {
                email: Some("jana@example.cz".into()),
                ..Customer::default()
            },
            items: Vec::new(),
            total: None,
            total_vat: None,
            currency: "CZK".into(),
            language: Some("cs".into()),
            payment_type: Some("wire".into()),
            form: None,
            form_url: None,
            custom_fields: custom
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            shipping_method: Some("Zásilkovna".into()),
            discount_code: Some("JARO10".into()),
            labels: vec!["VIP".into(), "B2B".into()],
        }
    }

    fn order() -> OrderImport {
        OrderImport {
            emailaddress: "jana@example.cz".into(),
            eshop_name: "Shop".into(),
            eshop_code: "1".into(),
            created_at: "2026-12-01 10:00:00".into(),
            paid_at: None,
            status: OrderStatus::Placed,
            attributes: vec![Attribute {
                name: "payment_type".into(),
                value: "wire".into(),
            }],
            items: Vec::new(),
        }
    }

    fn rule(source: FapiField, target: MappingTarget) -> FieldRule {
        FieldRule {
            source,
            target,
            options: Vec::new(),
        }
    }

    fn attribute(name: &str) -> MappingTarget {
        MappingTarget::OrderAttribute { name: name.into() }
    }

    #[test]
    fn every_source_reads_its_fapi_field() {
        let documents = [document(1, &[("Jak jste se o nás dozvěděli", "Facebook")])];
        let buyer = BuyerDetails {
            ic: Some("12345678".into()),
            dic: Some("CZ12345678".into()),
            ..BuyerDetails::default()
        };
        let read = |field: FapiField| values(&field, &documents, Some(&buyer));
        assert_eq!(
            read(FapiField::CustomField(
                "jak jste se o nás dozvěděli ".into()
            )),
            ["Facebook"]
        );
        assert_eq!(read(FapiField::ShippingMethod), ["Zásilkovna"]);
        assert_eq!(read(FapiField::PaymentType), ["wire"]);
        assert_eq!(read(FapiField::DiscountCode), ["JARO10"]);
        assert_eq!(read(FapiField::Labels), ["VIP", "B2B"]);
        assert_eq!(read(FapiField::Language), ["cs"]);
        assert_eq!(read(FapiField::CompanyId), ["12345678"]);
        assert_eq!(read(FapiField::VatId), ["CZ12345678"]);
        assert_eq!(read(FapiField::VariableSymbol), ["2026000777"]);
        assert!(read(FapiField::CustomField("Other".into())).is_empty());
        assert!(values(&FapiField::CompanyId, &documents, None).is_empty());
    }

    #[test]
    fn a_multi_checkbox_gives_each_ticked_value_and_a_proforma_fills_in_for_the_invoice() {
        let mut proforma = document(1, &[("Zájmy", r#"["Káva", "Čaj"]"#)]);
        proforma.kind = DocumentKind::Proforma;
        let invoice = document(2, &[]);
        let documents = [proforma, invoice];
        assert_eq!(
            values(&FapiField::CustomField("Zájmy".into()), &documents, None),
            ["Káva", "Čaj"]
        );
    }

    #[test]
    fn attributes_are_added_or_replaced_and_empty_values_send_nothing() {
        let documents = [document(1, &[("Poznámka", "  ")])];
        let mut order = order();
        let mut contact = ContactImport::default();
        let rules = [
            rule(FapiField::Labels, attribute("labels")),
            rule(FapiField::ShippingMethod, attribute("payment_type")),
            rule(FapiField::CustomField("Poznámka".into()), attribute("note")),
        ];
        apply(&rules, &documents, None, &mut order, &mut contact).unwrap();
        let attributes: Vec<(&str, &str)> = order
            .attributes
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            attributes,
            [("payment_type", "Zásilkovna"), ("labels", "VIP, B2B")]
        );
        assert!(contact.customfields.is_empty());
    }

    #[test]
    fn choice_fields_take_options_and_an_unmapped_value_is_the_orders_error() {
        let documents = [document(1, &[("Zájmy", r#"["Káva","Čaj"]"#)])];
        let mut rule = rule(
            FapiField::CustomField("Zájmy".into()),
            MappingTarget::ContactField {
                id: 7,
                name: "Interests".into(),
                choice: true,
            },
        );
        rule.options = vec![
            OptionMapping {
                fapi_value: "káva".into(),
                option_id: 70,
            },
            OptionMapping {
                fapi_value: "Čaj".into(),
                option_id: 71,
            },
        ];
        let mut contact = ContactImport::default();
        apply(
            std::slice::from_ref(&rule),
            &documents,
            None,
            &mut order(),
            &mut contact,
        )
        .unwrap();
        assert_eq!(
            contact.customfields,
            [CustomFieldValue {
                id: 7,
                value: None,
                options: vec![70, 71]
            }]
        );

        rule.options.pop();
        let error = apply(
            &[rule],
            &documents,
            None,
            &mut order(),
            &mut ContactImport::default(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the FAPI value \"Čaj\" has no option in the SmartEmailing field \"Interests\""
        );
    }

    #[test]
    fn a_text_field_takes_the_value_and_deleted_fields_or_options_are_caught_before_sending() {
        let documents = [document(1, &[])];
        let mut contact = ContactImport::default();
        let rules = [rule(
            FapiField::VariableSymbol,
            MappingTarget::ContactField {
                id: 3,
                name: "VS".into(),
                choice: false,
            },
        )];
        apply(&rules, &documents, None, &mut order(), &mut contact).unwrap();
        assert_eq!(contact.customfields[0].value.as_deref(), Some("2026000777"));

        let text = CustomFieldDefinition {
            id: 3,
            name: "VS".into(),
            field_type: "text".into(),
            customfield_options: Vec::new(),
        };
        let fields: HashMap<i64, &CustomFieldDefinition> = [(3, &text)].into();
        assert_eq!(check_against(&contact, &fields), Ok(()));
        let error = check_against(&contact, &HashMap::new()).unwrap_err();
        assert!(error.contains("no custom field 3"), "{error}");

        let choice = CustomFieldDefinition {
            id: 3,
            name: "VS".into(),
            field_type: "select".into(),
            customfield_options: vec![CustomFieldOption {
                id: 1,
                name: "a".into(),
            }],
        };
        contact.customfields[0].options = vec![2];
        let fields: HashMap<i64, &CustomFieldDefinition> = [(3, &choice)].into();
        assert!(
            check_against(&contact, &fields)
                .unwrap_err()
                .contains("no option 2")
        );
    }

    #[test]
    fn rules_are_checked_before_saving() {
        let field = CustomFieldDefinition {
            id: 3,
            name: "Zdroj".into(),
            field_type: "select".into(),
            customfield_options: vec![CustomFieldOption {
                id: 30,
                name: "Facebook".into(),
            }],
        };
        let fields = [field];
        let target = MappingTarget::ContactField {
            id: 3,
            name: "Zdroj".into(),
            choice: true,
        };
        let mut good = rule(FapiField::CustomField("Zdroj".into()), target.clone());
        good.options = vec![OptionMapping {
            fapi_value: "FB".into(),
            option_id: 30,
        }];
        assert_eq!(validate(std::slice::from_ref(&good), Some(&fields)), Ok(()));
        assert!(
            validate(&[good.clone(), good.clone()], Some(&fields))
                .unwrap_err()
                .contains("same")
        );
        let mut bad_option = good.clone();
        bad_option.options[0].option_id = 31;
        assert!(
            validate(&[bad_option], Some(&fields))
                .unwrap_err()
                .contains("no option 31")
        );
        let unknown = rule(
            FapiField::Labels,
            MappingTarget::ContactField {
                id: 9,
                name: "x".into(),
                choice: false,
            },
        );
        assert!(
            validate(&[unknown], Some(&fields))
                .unwrap_err()
                .contains("no custom field 9")
        );
        assert!(
            validate(&[rule(FapiField::Labels, attribute(" "))], None)
                .unwrap_err()
                .contains("no name")
        );
    }
}
