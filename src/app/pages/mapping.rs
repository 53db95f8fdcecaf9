//! The Mapping tab of a connection: extra FAPI fields sent to SmartEmailing (admins edit,
//! everyone reads), a preview of what one order would send with the edited rules, and the
//! re-send of a period with the saved mapping.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api::mapping::{
    PreviewFieldMapping, ResendWithMapping, SaveFieldMapping, get_field_mapping,
};
use crate::app::components::{
    ActionOutcome, ConnectionHeader, ConnectionTab, ErrorMessage, Loading, SyncStartError, id_param,
};
use crate::i18n::use_i18n;
use crate::model::{
    FapiField, FieldMappingPage, FieldRule, MappingTarget, OptionMapping, SeCustomField,
};
use crate::t;

/// One rule as the form edits it (strings, as the inputs hold them).
#[derive(Debug, Clone, Default, PartialEq)]
struct EditedRule {
    /// [`FapiField::code`].
    source: String,
    custom_name: String,
    /// `attribute` or a SmartEmailing custom field's id.
    target: String,
    attribute_name: String,
    /// Option id → the FAPI values that select it, comma-separated.
    option_values: BTreeMap<i64, String>,
}

impl EditedRule {
    fn from_rule(rule: &FieldRule) -> EditedRule {
        let mut option_values: BTreeMap<i64, String> = BTreeMap::new();
        for option in &rule.options {
            let values = option_values.entry(option.option_id).or_default();
            if !values.is_empty() {
                values.push_str(", ");
            }
            values.push_str(&option.fapi_value);
        }
        let (target, attribute_name) = match &rule.target {
            MappingTarget::OrderAttribute { name } => ("attribute".to_string(), name.clone()),
            MappingTarget::ContactField { id, .. } => (id.to_string(), String::new()),
        };
        EditedRule {
            source: rule.source.code().to_string(),
            custom_name: match &rule.source {
                FapiField::CustomField(name) => name.clone(),
                _ => String::new(),
            },
            target,
            attribute_name,
            option_values,
        }
    }

    /// The rule the server gets; what is missing is left for the server to name.
    fn to_rule(&self, fields: &[SeCustomField]) -> FieldRule {
        let source = FapiField::from_code(&self.source, &self.custom_name)
            .unwrap_or_else(|| FapiField::CustomField(String::new()));
        let field = self
            .target
            .parse::<i64>()
            .ok()
            .and_then(|id| fields.iter().find(|f| f.id == id));
        let (target, options) = match field {
            Some(field) => (
                MappingTarget::ContactField {
                    id: field.id,
                    name: field.name.clone(),
                    choice: field.is_choice(),
                },
                self.option_values
                    .iter()
                    .filter(|(id, _)| {
                        field.is_choice() && field.options.iter().any(|o| o.id == **id)
                    })
                    .flat_map(|(id, values)| {
                        values
                            .split(',')
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(|v| OptionMapping {
                                fapi_value: v.to_string(),
                                option_id: *id,
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect(),
            ),
            None => (
                MappingTarget::OrderAttribute {
                    name: self.attribute_name.trim().to_string(),
                },
                Vec::new(),
            ),
        };
        FieldRule {
            source,
            target,
            options,
        }
    }
}

#[component]
pub fn MappingPage() -> impl IntoView {
    let id = id_param();
    let save = ServerAction::<SaveFieldMapping>::new();
    let page = Resource::new(
        move || (id(), save.version().get()),
        |(id, _)| get_field_mapping(id),
    );
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(page) => view! { <MappingEditor page save /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn MappingEditor(page: FieldMappingPage, save: ServerAction<SaveFieldMapping>) -> impl IntoView {
    let i18n = use_i18n();
    let connection = page.connection.id;
    let fields = StoredValue::new(page.custom_fields.clone().unwrap_or_default());
    let rules = RwSignal::new(
        page.rules
            .iter()
            .map(EditedRule::from_rule)
            .collect::<Vec<_>>(),
    );
    let current_rules = move || {
        fields.with_value(|fields| {
            rules
                .get()
                .iter()
                .map(|r| r.to_rule(fields))
                .collect::<Vec<_>>()
        })
    };
    let can_edit = page.can_edit;
    let seen = page.seen_custom_fields.clone();
    // The rows are rebuilt when rules are added or removed, not on every keystroke in one.
    let rule_count = Memo::new(move |_| rules.with(Vec::len));
    view! {
        <ConnectionHeader id=connection name=page.connection.name.clone() current=ConnectionTab::Mapping />
        <section class="card" aria-labelledby="mapping-title">
            <h2 id="mapping-title">{t!(i18n, mapping_tab)}</h2>
            <p>{t!(i18n, mapping_intro)}</p>
            {match &page.custom_fields {
                Err(reason) => {
                    let reason = reason.clone();
                    Some(view! {
                        <p class="message error" role="alert">{t!(i18n, mapping_fields_unavailable)} " " {reason}</p>
                    })
                }
                Ok(_) => None,
            }}
            <datalist id="seen-custom-fields">
                {seen.into_iter().map(|name| view! { <option value=name /> }).collect_view()}
            </datalist>
            {move || {
                if rules.with(Vec::is_empty) {
                    Some(view! { <p class="hint">{t!(i18n, mapping_none)}</p> })
                } else {
                    None
                }
            }}
            <ol class="rules">
                {move || {
                    (0..rule_count.get())
                        .map(|index| view! { <RuleRow index rules fields can_edit /> })
                        .collect_view()
                }}
            </ol>
            {can_edit
                .then(|| {
                    view! {
                        <div class="actions">
                            <button
                                type="button"
                                class="secondary"
                                on:click=move |_| {
                                    rules
                                        .update(|rules| {
                                            rules
                                                .push(EditedRule {
                                                    source: "custom_field".into(),
                                                    target: "attribute".into(),
                                                    ..EditedRule::default()
                                                })
                                        })
                                }
                            >
                                {t!(i18n, mapping_add)}
                            </button>
                            <button
                                type="button"
                                disabled=move || save.pending().get()
                                on:click=move |_| {
                                    save.dispatch(SaveFieldMapping {
                                        connection,
                                        rules: current_rules(),
                                    });
                                }
                            >
                                {t!(i18n, mapping_save)}
                            </button>
                        </div>
                        <ActionOutcome result=save.value() success=|t| t.saved />
                    }
                })}
            {(!can_edit).then(|| view! { <p class="hint">{t!(i18n, mapping_read_only)}</p> })}
        </section>
        {page.can_resend.then(|| view! { <Preview connection current_rules=Callback::new(move |_| current_rules()) /> })}
        {page.can_resend.then(|| view! { <Resend connection /> })}
    }
}

#[component]
fn RuleRow(
    index: usize,
    rules: RwSignal<Vec<EditedRule>>,
    fields: StoredValue<Vec<SeCustomField>>,
    can_edit: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let rule = move || rules.with(|r| r.get(index).cloned().unwrap_or_default());
    let edit = move |change: &dyn Fn(&mut EditedRule)| {
        rules.update(|r| {
            if let Some(rule) = r.get_mut(index) {
                change(rule);
            }
        })
    };
    let number = index + 1;
    let chosen_field = move || {
        let target = rule().target;
        fields.with_value(|fields| {
            target
                .parse::<i64>()
                .ok()
                .and_then(|id| fields.iter().find(|f| f.id == id).cloned())
        })
    };
    view! {
        <li class="rule card" aria-label=move || format!("{} {number}", i18n.t().mapping_rule)>
            <div class="field-row">
                <div class="field">
                    <label for=format!("rule-{index}-source")>{t!(i18n, mapping_source)}</label>
                    <select
                        id=format!("rule-{index}-source")
                        disabled=!can_edit
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            edit(&|r| r.source = value.clone());
                        }
                    >
                        <option value="custom_field" selected=move || rule().source == "custom_field">
                            {move || i18n.t().fapi_field(&FapiField::CustomField(String::new()))}
                        </option>
                        {FapiField::FIXED
                            .iter()
                            .map(|field| {
                                let code = field.code();
                                let field = field.clone();
                                view! {
                                    <option value=code selected=move || rule().source == code>
                                        {move || i18n.t().fapi_field(&field)}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                {move || {
                    (rule().source == "custom_field")
                        .then(|| {
                            view! {
                                <div class="field">
                                    <label for=format!("rule-{index}-custom")>{t!(i18n, mapping_custom_name)}</label>
                                    <input
                                        id=format!("rule-{index}-custom")
                                        list="seen-custom-fields"
                                        disabled=!can_edit
                                        prop:value=move || rule().custom_name
                                        on:input=move |ev| {
                                            let value = event_target_value(&ev);
                                            edit(&|r| r.custom_name = value.clone());
                                        }
                                    />
                                </div>
                            }
                        })
                }}
                <div class="field">
                    <label for=format!("rule-{index}-target")>{t!(i18n, mapping_target)}</label>
                    <select
                        id=format!("rule-{index}-target")
                        disabled=!can_edit
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            edit(&|r| r.target = value.clone());
                        }
                    >
                        <option value="attribute" selected=move || rule().target == "attribute">
                            {t!(i18n, mapping_to_attribute)}
                        </option>
                        {fields
                            .get_value()
                            .into_iter()
                            .map(|field| {
                                let value = field.id.to_string();
                                let selected = value.clone();
                                view! {
                                    <option value=value selected=move || rule().target == selected>
                                        {move || format!("{}: {}", i18n.t().mapping_to_field, field.name)}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                {move || {
                    (rule().target == "attribute")
                        .then(|| {
                            view! {
                                <div class="field">
                                    <label for=format!("rule-{index}-attribute")>{t!(i18n, mapping_attribute_name)}</label>
                                    <input
                                        id=format!("rule-{index}-attribute")
                                        disabled=!can_edit
                                        prop:value=move || rule().attribute_name
                                        on:input=move |ev| {
                                            let value = event_target_value(&ev);
                                            edit(&|r| r.attribute_name = value.clone());
                                        }
                                    />
                                </div>
                            }
                        })
                }}
            </div>
            {move || {
                chosen_field()
                    .filter(SeCustomField::is_choice)
                    .map(|field| {
                        view! {
                            <fieldset class="options">
                                <legend>{t!(i18n, mapping_option_values)}</legend>
                                {field
                                    .options
                                    .into_iter()
                                    .map(|option| {
                                        let option_id = option.id;
                                        let input_id = format!("rule-{index}-option-{option_id}");
                                        view! {
                                            <div class="field">
                                                <label for=input_id.clone()>{option.name}</label>
                                                <input
                                                    id=input_id
                                                    disabled=!can_edit
                                                    prop:value=move || {
                                                        rule().option_values.get(&option_id).cloned().unwrap_or_default()
                                                    }
                                                    on:input=move |ev| {
                                                        let value = event_target_value(&ev);
                                                        edit(&|r| {
                                                            r.option_values.insert(option_id, value.clone());
                                                        });
                                                    }
                                                />
                                            </div>
                                        }
                                    })
                                    .collect_view()}
                            </fieldset>
                        }
                    })
            }}
            {can_edit
                .then(|| {
                    view! {
                        <button
                            type="button"
                            class="secondary"
                            on:click=move |_| {
                                rules
                                    .update(|r| {
                                        if index < r.len() {
                                            r.remove(index);
                                        }
                                    })
                            }
                        >
                            {t!(i18n, mapping_remove)}
                        </button>
                    }
                })}
        </li>
    }
}

#[component]
fn Preview(connection: i64, current_rules: Callback<(), Vec<FieldRule>>) -> impl IntoView {
    let i18n = use_i18n();
    let preview = ServerAction::<PreviewFieldMapping>::new();
    let reference = RwSignal::new(String::new());
    view! {
        <section class="card" aria-labelledby="preview-title">
            <h2 id="preview-title">{t!(i18n, preview_title)}</h2>
            <p class="hint">{t!(i18n, preview_hint)}</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                preview.dispatch(PreviewFieldMapping {
                    connection,
                    reference: reference.get_untracked(),
                    rules: current_rules.run(()),
                });
            }>
                <div class="field-row">
                    <div class="field">
                        <label for="preview-reference">{t!(i18n, preview_reference)}</label>
                        <input
                            id="preview-reference"
                            required
                            prop:value=move || reference.get()
                            on:input=move |ev| reference.set(event_target_value(&ev))
                        />
                    </div>
                </div>
                <button type="submit" class="secondary" disabled=move || preview.pending().get()>
                    {t!(i18n, preview_show)}
                </button>
            </form>
            {move || match preview.value().get() {
                None => None,
                Some(Err(error)) => Some(view! { <ErrorMessage error=Some(error) /> }.into_any()),
                Some(Ok(result)) => Some(
                    view! {
                        {result
                            .error
                            .clone()
                            .map(|error| {
                                view! {
                                    <p class="message error" role="alert">
                                        {t!(i18n, preview_cannot_send)} " " {error}
                                    </p>
                                }
                            })}
                        <div class="preview">
                            <div>
                                <h3>{t!(i18n, preview_documents)}</h3>
                                <pre class="json" aria-label=t!(i18n, preview_documents)>{result.documents.clone()}</pre>
                            </div>
                            <div>
                                <h3>{t!(i18n, preview_contact)}</h3>
                                <pre class="json" aria-label=t!(i18n, preview_contact)>{result.contact.clone()}</pre>
                                <h3>{t!(i18n, preview_order)}</h3>
                                <pre class="json" aria-label=t!(i18n, preview_order)>{result.order.clone()}</pre>
                            </div>
                        </div>
                    }
                        .into_any(),
                ),
            }}
        </section>
    }
}

#[component]
fn Resend(connection: i64) -> impl IntoView {
    let i18n = use_i18n();
    let resend = ServerAction::<ResendWithMapping>::new();
    view! {
        <section class="card" aria-labelledby="resend-title">
            <h2 id="resend-title">{t!(i18n, resend_title)}</h2>
            <p>{t!(i18n, resend_hint)}</p>
            <ActionForm action=resend>
                <input type="hidden" name="connection" value=connection />
                <div class="field">
                    <label for="resend-since">{t!(i18n, sync_since)}</label>
                    <input id="resend-since" type="date" name="since" />
                </div>
                <div class="notice warning" role="note">
                    <h3>{t!(i18n, before_you_start)}</h3>
                    <p>{t!(i18n, new_order_trigger_warning)}</p>
                </div>
                <label class="checkbox">
                    <input type="checkbox" name="confirm" value="yes" required />
                    {t!(i18n, sync_confirm)}
                </label>
                <button type="submit" disabled=move || resend.pending().get()>{t!(i18n, resend_button)}</button>
            </ActionForm>
            {move || match resend.value().get() {
                None => None,
                Some(Ok(run)) => Some(
                    view! {
                        <p class="message success" role="status">
                            {t!(i18n, resend_started)} " "
                            <a href=format!("/sync-history/{run}")>{t!(i18n, open_run)}</a>
                        </p>
                    }
                        .into_any(),
                ),
                Some(Err(error)) => Some(view! { <SyncStartError error /> }.into_any()),
            }}
        </section>
    }
}
