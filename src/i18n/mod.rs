//! The translation layer. Every user-visible text lives in [`cs`] (the default) or [`en`];
//! components read them through [`use_i18n`], so switching the language re-renders in place.
//!
//! The catalogue is a typed struct: a text missing in one language is a compile error, and
//! parameterised messages are functions.

mod alerts;
mod cs;
mod en;
#[cfg(feature = "ssr")]
pub mod mail;

pub use alerts::AlertTexts;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Invalid};
use crate::model::{
    AttemptOutcome, CheckOutcome, ContactJobKind, ContactJobStatus, DocumentKind, FapiField,
    FapiState, NotificationStatus, ReminderState, Role, RunKind, RunPhase, RunStatus, SyncStatus,
    System,
};

/// The cookie that remembers the language between requests (set at sign-in and on switching).
pub const LANG_COOKIE: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Cs,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Cs, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Cs => "cs",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| lang.code() == code)
    }

    /// The language's own name, as shown in the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Cs => "Čeština",
            Lang::En => "English",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Cs => &cs::TEXTS,
            Lang::En => &en::TEXTS,
        }
    }

    /// The language of a request: the one chosen (the `lang` cookie), else Czech — the
    /// product's users are Czech sellers, whatever language their browser is set to.
    pub fn from_cookie_header(cookie: Option<&str>) -> Lang {
        cookie
            .and_then(|header| {
                header.split(';').find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    (name == LANG_COOKIE)
                        .then(|| Lang::parse(value.trim()))
                        .flatten()
                })
            })
            .unwrap_or_default()
    }
}

/// Every text of the UI in one language.
pub struct Texts {
    /// The bell, Settings and the E-mails page.
    pub alerts: &'static AlertTexts,
    pub app_name: &'static str,
    pub loading: &'static str,
    pub skip_to_content: &'static str,
    pub main_navigation: &'static str,

    pub nav_overview: &'static str,
    pub nav_connections: &'static str,
    pub nav_orders: &'static str,
    pub nav_sync_history: &'static str,
    pub nav_contacts: &'static str,
    pub nav_reminders: &'static str,
    pub nav_team: &'static str,
    pub nav_audit: &'static str,

    pub language: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub role_admin: &'static str,
    pub role_operator: &'static str,
    pub role_viewer: &'static str,

    pub overview_intro: &'static str,
    pub connections_intro: &'static str,
    pub orders_intro: &'static str,
    pub sync_history_intro: &'static str,
    pub contacts_intro: &'static str,
    pub reminders_intro: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub back_to_overview: &'static str,
    pub forbidden_title: &'static str,
    pub forbidden_admin_only: &'static str,

    pub login_title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,

    pub setup_title: &'static str,
    pub setup_intro: &'static str,
    pub setup_missing_token: &'static str,
    pub name: &'static str,
    pub password_again: &'static str,
    pub password_rule: &'static str,
    pub setup_submit: &'static str,
    pub setup_done: &'static str,
    pub go_to_login: &'static str,

    pub team_title: &'static str,
    pub team_intro: &'static str,
    pub col_name: &'static str,
    pub col_email: &'static str,
    pub col_role: &'static str,
    pub col_status: &'static str,
    pub col_since: &'static str,
    pub col_actions: &'static str,
    pub status_active: &'static str,
    pub status_disabled: &'static str,
    pub you: &'static str,
    pub change_role: &'static str,
    pub new_role_for: fn(&str) -> String,
    pub disable: &'static str,
    pub enable: &'static str,
    pub reset_password: &'static str,
    pub new_password_for: fn(&str) -> String,
    pub add_member_title: &'static str,
    pub role: &'static str,
    pub add_member: &'static str,
    pub member_added: &'static str,
    pub saved: &'static str,

    pub audit_title: &'static str,
    pub audit_intro: &'static str,
    pub col_time: &'static str,
    pub col_actor: &'static str,
    pub col_action: &'static str,
    pub col_target: &'static str,
    pub col_details: &'static str,
    pub col_client: &'static str,
    pub audit_empty: &'static str,
    pub older_entries: &'static str,
    /// Action code → label. Unknown codes are shown as they are.
    pub audit_actions: &'static [(&'static str, &'static str)],

    pub err_unauthenticated: &'static str,
    pub err_forbidden: &'static str,
    pub err_not_found: &'static str,
    pub err_invalid_credentials: &'static str,
    pub err_account_disabled: &'static str,
    pub err_rate_limited: fn(u64) -> String,
    pub err_busy: &'static str,
    pub err_internal: &'static str,
    pub err_request: &'static str,
    pub err_bad_request: &'static str,

    pub inv_email_invalid: &'static str,
    pub inv_email_taken: &'static str,
    pub inv_name_empty: &'static str,
    pub inv_password_empty: &'static str,
    pub inv_password_too_short: fn(usize) -> String,
    pub inv_password_weak: &'static str,
    pub inv_passwords_differ: &'static str,
    pub inv_last_admin: &'static str,
    pub inv_cannot_change_self: &'static str,
    pub inv_setup_link_invalid: &'static str,
    pub inv_setup_already_done: &'static str,
    pub inv_unknown_role: &'static str,
    pub inv_unknown_language: &'static str,

    pub new_connection: &'static str,
    pub new_connection_intro: &'static str,
    pub no_connections: &'static str,
    pub back_to_connections: &'static str,
    pub connection_name: &'static str,
    pub eshop_name: &'static str,
    pub eshop_name_hint: &'static str,
    pub fapi_login: &'static str,
    pub fapi_api_key: &'static str,
    pub se_username: &'static str,
    pub se_api_key: &'static str,
    pub api_key_new: &'static str,
    pub api_key_keep: &'static str,
    pub api_key_stored: &'static str,
    pub save_connection: &'static str,
    pub save: &'static str,
    pub checking: &'static str,
    pub health: &'static str,
    pub not_checked: &'static str,
    pub checked_at: &'static str,
    pub test_connection: &'static str,
    pub forwarding: &'static str,
    pub forwarding_on: &'static str,
    pub forwarding_off: &'static str,
    pub forwarding_hint: &'static str,
    pub forwarding_switch_on: &'static str,
    pub forwarding_switch_off: &'static str,
    pub since: &'static str,
    pub webhook: &'static str,
    pub webhook_url: &'static str,
    pub webhook_hint: &'static str,
    pub rotate_webhook: &'static str,
    pub webhook_rotated: &'static str,
    pub default_list: &'static str,
    pub default_list_none: &'static str,
    pub default_list_hint: &'static str,
    pub choose_default_list: &'static str,
    pub edit_connection: &'static str,
    pub delete_connection: &'static str,
    pub delete_connection_warning: &'static str,
    pub delete_connection_confirm: fn(&str) -> String,
    pub outcome_ok: &'static str,
    pub outcome_wrong_credentials: &'static str,
    pub outcome_unreachable: &'static str,
    pub outcome_timeout: &'static str,
    pub outcome_failed: &'static str,
    pub err_upstream: &'static str,
    pub inv_connection_name_taken: &'static str,
    pub inv_eshop_name_invalid: &'static str,
    pub inv_se_username_empty: &'static str,
    pub inv_api_key_required: &'static str,
    pub inv_credentials_refused: &'static str,
    pub inv_confirmation_missing: &'static str,
    pub notifications_link: &'static str,
    pub notifications_title: &'static str,
    pub notifications_intro: &'static str,
    pub col_connection: &'static str,
    pub col_fapi_numbers: &'static str,
    pub col_amount: &'static str,
    pub col_fapi_state: &'static str,
    pub col_se_status: &'static str,
    pub col_sync_status: &'static str,
    pub col_last_attempt: &'static str,
    pub col_source: &'static str,
    pub col_created: &'static str,
    pub col_outcome: &'static str,
    pub col_http_status: &'static str,
    pub col_provider_answer: &'static str,
    pub col_invoice_id: &'static str,
    pub col_order: &'static str,
    pub col_raw: &'static str,
    pub all: &'static str,
    pub created_from: &'static str,
    pub created_to: &'static str,
    pub search_orders: &'static str,
    pub filter: &'static str,
    pub no_orders: &'static str,
    pub retry_all_failed: &'static str,
    pub retry_all_failed_confirm: fn(i64) -> String,
    pub retry_queued: &'static str,
    pub back_to_orders: &'static str,
    pub order_title: fn(&str) -> String,
    pub next_attempt: &'static str,
    pub retry_order: &'static str,
    pub attempts: &'static str,
    pub documents: &'static str,
    pub fetched: &'static str,
    pub payload_sent: &'static str,
    pub no_payload: &'static str,
    /// On an order whose buyer was deleted (GDPR forget) from the Contacts page.
    pub buyer_forgotten: &'static str,
    pub sync_status_pending: &'static str,
    pub sync_status_synced: &'static str,
    pub sync_status_failed: &'static str,
    pub sync_status_skipped: &'static str,
    pub fapi_state_unpaid: &'static str,
    pub fapi_state_paid: &'static str,
    pub fapi_state_cancelled: &'static str,
    pub attempt_outcome_synced: &'static str,
    pub attempt_outcome_retry: &'static str,
    pub attempt_outcome_failed: &'static str,
    pub document_kind_proforma: &'static str,
    pub document_kind_invoice: &'static str,
    pub document_kind_simplified_invoice: &'static str,
    pub document_kind_credit_note: &'static str,
    pub document_kind_payment_confirmation: &'static str,
    pub notification_status_queued: &'static str,
    pub notification_status_processing: &'static str,
    pub notification_status_processed: &'static str,
    pub notification_status_rejected: &'static str,
    pub notification_status_invalid: &'static str,
    pub notification_status_forwarding_off: &'static str,
    pub notification_status_failed: &'static str,
    pub inv_count_changed: fn(i64) -> String,
    pub start_historical_sync: &'static str,
    pub historical_sync_intro: &'static str,
    pub sync_since: &'static str,
    pub sync_since_hint: &'static str,
    pub before_you_start: &'static str,
    pub new_order_trigger_warning: &'static str,
    pub double_transfer_warning: &'static str,
    pub sync_confirm: &'static str,
    pub sync_already_running: &'static str,
    pub open_running_sync: &'static str,
    pub start_sync: &'static str,
    pub historical_sync_link: &'static str,
    pub col_kind: &'static str,
    pub col_started: &'static str,
    pub col_started_by: &'static str,
    pub col_duration: &'static str,
    pub col_counts: &'static str,
    pub run_kind_historical: &'static str,
    pub run_kind_reconciliation: &'static str,
    pub run_status_running: &'static str,
    pub run_status_paused: &'static str,
    pub run_status_cancelled: &'static str,
    pub run_status_completed: &'static str,
    pub run_status_failed: &'static str,
    pub run_phase_counting: &'static str,
    pub run_phase_clients: &'static str,
    pub run_phase_fetching: &'static str,
    pub run_phase_sending: &'static str,
    pub run_phase_done: &'static str,
    pub run_counts: fn(i64, i64, i64, i64) -> String,
    pub back_to_sync_history: &'static str,
    pub run_title: fn(&str, &str) -> String,
    pub progress: &'static str,
    pub documents_progress: fn(i64, i64) -> String,
    pub phase: &'static str,
    pub in_smartemailing: &'static str,
    pub synced_waiting: fn(i64, i64) -> String,
    pub rate: &'static str,
    pub per_second: fn(f64) -> String,
    pub time_left: &'static str,
    pub finished: &'static str,
    pub reason: &'static str,
    pub pause: &'static str,
    pub resume: &'static str,
    pub cancel_sync: &'static str,
    pub sync_finished: &'static str,
    pub sync_summary: fn(i64, i64, i64, i64, i64) -> String,
    pub switch_scenarios_back_on: &'static str,
    pub run_orders: &'static str,
    pub inv_sync_already_running: &'static str,
    pub inv_run_not_controllable: &'static str,
    pub inv_date_invalid: &'static str,

    pub no_connections_overview: &'static str,
    pub last_notification: &'static str,
    pub none_yet: &'static str,
    pub orders_waiting: &'static str,
    pub orders_failed: &'static str,
    pub last_run: &'static str,
    pub reminders_label: &'static str,
    pub reminders_due_count: fn(i64) -> String,
    pub next_reminder: &'static str,
    pub schedule_reminder: &'static str,
    pub schedule_reminder_intro: &'static str,
    pub reminder_note: &'static str,
    pub reminder_will_be_due: &'static str,
    pub reminder_after_sync: &'static str,
    pub reminder_after_now: &'static str,
    pub recalculation_at: &'static str,
    pub confirm_schedule: &'static str,
    pub reminder_scheduled: &'static str,
    pub reminders_due: &'static str,
    pub reminders_upcoming: &'static str,
    pub reminders_finished: &'static str,
    pub no_reminders: &'static str,
    pub col_due: &'static str,
    pub col_note: &'static str,
    pub col_scheduled_by: &'static str,
    pub col_finished_by: &'static str,
    pub mark_done: &'static str,
    pub cancel_reminder: &'static str,
    pub reminder_state_upcoming: &'static str,
    pub reminder_state_due: &'static str,
    pub reminder_state_done: &'static str,
    pub reminder_state_cancelled: &'static str,
    pub banner_title: &'static str,
    pub banner_text: fn(&str, &str) -> String,
    pub inv_reminder_not_due: &'static str,
    pub inv_reminder_already_due: &'static str,
    pub inv_reminder_finished: &'static str,

    pub contacts_prevent: fn(&str) -> String,
    pub refresh_from_se: &'static str,
    pub refresh_started: &'static str,
    pub col_orders_count: &'static str,
    pub col_spent: &'static str,
    pub col_last_order: &'static str,
    pub col_order_states: &'static str,
    pub filter_buyers: &'static str,
    pub buyers_all: &'static str,
    pub buyers_paid: &'static str,
    pub buyers_cancelled: &'static str,
    pub last_order_from: &'static str,
    pub last_order_to: &'static str,
    pub search_contacts: &'static str,
    pub no_contacts_without_list: &'static str,
    pub select_contact: &'static str,
    pub select_page: &'static str,
    pub select_all_matching: fn(i64) -> String,
    pub selected_count: fn(i64) -> String,
    pub bulk_actions: &'static str,
    pub choose_connection_first: &'static str,
    pub move_to_list: &'static str,
    pub blacklist_contacts: &'static str,
    pub delete_contacts: &'static str,
    pub target_list: &'static str,
    pub confirm_move: fn(i64, &str) -> String,
    pub confirm_blacklist: fn(i64) -> String,
    pub confirm_delete: fn(i64) -> String,
    pub type_count: fn(i64) -> String,
    pub confirm: &'static str,
    pub back: &'static str,
    pub action_started: &'static str,
    pub contact_jobs: &'static str,
    pub contact_job_kind_refresh: &'static str,
    pub contact_job_kind_move: &'static str,
    pub contact_job_kind_blacklist: &'static str,
    pub contact_job_kind_delete: &'static str,
    pub contact_job_status_queued: &'static str,
    pub contact_job_status_running: &'static str,
    pub contact_job_status_completed: &'static str,
    pub contact_job_status_failed: &'static str,
    pub job_progress: fn(i64, Option<i64>, i64, i64) -> String,
    pub job_results: &'static str,
    pub back_to_contacts: &'static str,
    pub contact_orders: &'static str,
    pub in_a_list: &'static str,
    pub page_of: fn(i64, i64) -> String,
    pub previous: &'static str,
    pub inv_nothing_selected: &'static str,
    pub inv_connection_required: &'static str,
    pub inv_list_unknown: &'static str,
    pub inv_mapping_invalid: &'static str,
    pub answer_yes: &'static str,
    pub answer_no: &'static str,
    pub connection_tabs: &'static str,
    pub connection_tab: &'static str,
    pub mapping_tab: &'static str,
    pub mapping_intro: &'static str,
    pub mapping_fields_unavailable: &'static str,
    pub mapping_none: &'static str,
    pub mapping_add: &'static str,
    pub mapping_save: &'static str,
    pub mapping_read_only: &'static str,
    pub mapping_rule: &'static str,
    pub mapping_source: &'static str,
    pub mapping_custom_name: &'static str,
    pub mapping_target: &'static str,
    pub mapping_to_attribute: &'static str,
    pub mapping_to_field: &'static str,
    pub mapping_attribute_name: &'static str,
    pub mapping_option_values: &'static str,
    pub mapping_remove: &'static str,
    pub preview_title: &'static str,
    pub preview_hint: &'static str,
    pub preview_reference: &'static str,
    pub preview_show: &'static str,
    pub preview_cannot_send: &'static str,
    pub preview_documents: &'static str,
    pub preview_contact: &'static str,
    pub preview_order: &'static str,
    pub resend_title: &'static str,
    pub resend_hint: &'static str,
    pub resend_button: &'static str,
    pub resend_started: &'static str,
    pub open_run: &'static str,
    pub field_custom_field: &'static str,
    pub field_shipping_method: &'static str,
    pub field_payment_type: &'static str,
    pub field_discount_code: &'static str,
    pub field_labels: &'static str,
    pub field_language: &'static str,
    pub field_company_id: &'static str,
    pub field_vat_id: &'static str,
    pub field_variable_symbol: &'static str,
    pub run_resend: &'static str,
    pub run_resend_intro: &'static str,
}

/// A system's name (the same in every language).
pub fn system_name(system: System) -> &'static str {
    match system {
        System::Fapi => "FAPI",
        System::SmartEmailing => "SmartEmailing",
    }
}

/// The text with its first letter in upper case.
pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The Czech form of a noun for a count: `one` for 1 (and -1), `few` for 2–4, `many` for 0
/// and 5 or more ("1 kontakt", "3 kontakty", "5 kontaktů").
pub fn cs_plural<'a>(count: i64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    match count.unsigned_abs() {
        1 => one,
        2..=4 => few,
        _ => many,
    }
}

/// The English form of a noun for a count: `one` for 1, `other` otherwise.
pub fn en_plural<'a>(count: i64, one: &'a str, other: &'a str) -> &'a str {
    if count.unsigned_abs() == 1 {
        one
    } else {
        other
    }
}

/// The label of a stable code; an unknown code is shown as it is.
fn lookup(table: &[(&str, &'static str)], code: &str) -> String {
    table
        .iter()
        .find(|(known, _)| *known == code)
        .map_or_else(|| code.to_string(), |(_, label)| label.to_string())
}

impl Texts {
    pub fn role(&self, role: Role) -> &'static str {
        match role {
            Role::Admin => self.role_admin,
            Role::Operator => self.role_operator,
            Role::Viewer => self.role_viewer,
        }
    }

    pub fn audit_action(&self, code: &str) -> String {
        lookup(self.audit_actions, code)
    }

    pub fn sync_status(&self, status: SyncStatus) -> &'static str {
        match status {
            SyncStatus::Pending => self.sync_status_pending,
            SyncStatus::Synced => self.sync_status_synced,
            SyncStatus::Failed => self.sync_status_failed,
            SyncStatus::Skipped => self.sync_status_skipped,
        }
    }

    pub fn fapi_state(&self, state: FapiState) -> &'static str {
        match state {
            FapiState::Unpaid => self.fapi_state_unpaid,
            FapiState::Paid => self.fapi_state_paid,
            FapiState::Cancelled => self.fapi_state_cancelled,
        }
    }

    pub fn attempt_outcome(&self, outcome: AttemptOutcome) -> &'static str {
        match outcome {
            AttemptOutcome::Synced => self.attempt_outcome_synced,
            AttemptOutcome::Retry => self.attempt_outcome_retry,
            AttemptOutcome::Failed => self.attempt_outcome_failed,
        }
    }

    /// The name of a document's kind; a kind FAPI added later is shown as it came.
    pub fn document_kind<'a>(&self, kind: &'a DocumentKind) -> &'a str {
        match kind {
            DocumentKind::Proforma => self.document_kind_proforma,
            DocumentKind::Invoice => self.document_kind_invoice,
            DocumentKind::SimplifiedInvoice => self.document_kind_simplified_invoice,
            DocumentKind::CreditNote => self.document_kind_credit_note,
            DocumentKind::PaymentConfirmation => self.document_kind_payment_confirmation,
            DocumentKind::Other(code) => code,
        }
    }

    pub fn notification_status(&self, status: NotificationStatus) -> &'static str {
        match status {
            NotificationStatus::Queued => self.notification_status_queued,
            NotificationStatus::Processing => self.notification_status_processing,
            NotificationStatus::Processed => self.notification_status_processed,
            NotificationStatus::Rejected => self.notification_status_rejected,
            NotificationStatus::Invalid => self.notification_status_invalid,
            NotificationStatus::ForwardingOff => self.notification_status_forwarding_off,
            NotificationStatus::Failed => self.notification_status_failed,
        }
    }

    pub fn run_kind(&self, kind: RunKind) -> &'static str {
        match kind {
            RunKind::Historical => self.run_kind_historical,
            RunKind::Reconciliation => self.run_kind_reconciliation,
        }
    }

    pub fn run_status(&self, status: RunStatus) -> &'static str {
        match status {
            RunStatus::Running => self.run_status_running,
            RunStatus::Paused => self.run_status_paused,
            RunStatus::Cancelled => self.run_status_cancelled,
            RunStatus::Completed => self.run_status_completed,
            RunStatus::Failed => self.run_status_failed,
        }
    }

    pub fn run_phase(&self, phase: RunPhase) -> &'static str {
        match phase {
            RunPhase::Counting => self.run_phase_counting,
            RunPhase::Clients => self.run_phase_clients,
            RunPhase::Fetching => self.run_phase_fetching,
            RunPhase::Sending => self.run_phase_sending,
            RunPhase::Done => self.run_phase_done,
        }
    }

    pub fn contact_job_kind(&self, kind: ContactJobKind) -> &'static str {
        match kind {
            ContactJobKind::Refresh => self.contact_job_kind_refresh,
            ContactJobKind::Move => self.contact_job_kind_move,
            ContactJobKind::Blacklist => self.contact_job_kind_blacklist,
            ContactJobKind::Delete => self.contact_job_kind_delete,
        }
    }

    pub fn contact_job_status(&self, status: ContactJobStatus) -> &'static str {
        match status {
            ContactJobStatus::Queued => self.contact_job_status_queued,
            ContactJobStatus::Running => self.contact_job_status_running,
            ContactJobStatus::Completed => self.contact_job_status_completed,
            ContactJobStatus::Failed => self.contact_job_status_failed,
        }
    }

    pub fn reminder_state(&self, state: ReminderState) -> &'static str {
        match state {
            ReminderState::Upcoming => self.reminder_state_upcoming,
            ReminderState::Due => self.reminder_state_due,
            ReminderState::Done => self.reminder_state_done,
            ReminderState::Cancelled => self.reminder_state_cancelled,
        }
    }

    /// The words shown for an error.
    pub fn error(&self, error: &AppError) -> String {
        match error {
            AppError::Unauthenticated => self.err_unauthenticated.into(),
            AppError::Forbidden => self.err_forbidden.into(),
            AppError::NotFound => self.err_not_found.into(),
            AppError::InvalidCredentials => self.err_invalid_credentials.into(),
            AppError::AccountDisabled => self.err_account_disabled.into(),
            AppError::RateLimited { retry_after_secs } => {
                (self.err_rate_limited)(*retry_after_secs)
            }
            AppError::Busy { .. } => self.err_busy.into(),
            AppError::Invalid(invalid) => self.invalid(invalid),
            AppError::Upstream(system, message) => {
                format!("{} {}: {message}", self.err_upstream, self.system(*system))
            }
            AppError::Internal => self.err_internal.into(),
            AppError::Request(_) => self.err_request.into(),
            AppError::BadRequest(message) => format!("{} ({message})", self.err_bad_request),
            AppError::Smtp(problem, answer) => {
                format!("{} ({answer})", (self.alerts.smtp_problem)(*problem))
            }
        }
    }

    pub fn invalid(&self, invalid: &Invalid) -> String {
        match invalid {
            Invalid::EmailInvalid => self.inv_email_invalid.into(),
            Invalid::EmailTaken => self.inv_email_taken.into(),
            Invalid::NameEmpty => self.inv_name_empty.into(),
            Invalid::PasswordEmpty => self.inv_password_empty.into(),
            Invalid::PasswordTooShort { min } => (self.inv_password_too_short)(*min),
            Invalid::PasswordWeak => self.inv_password_weak.into(),
            Invalid::PasswordsDiffer => self.inv_passwords_differ.into(),
            Invalid::LastAdmin => self.inv_last_admin.into(),
            Invalid::CannotChangeSelf => self.inv_cannot_change_self.into(),
            Invalid::SetupLinkInvalid => self.inv_setup_link_invalid.into(),
            Invalid::SetupAlreadyDone => self.inv_setup_already_done.into(),
            Invalid::UnknownRole => self.inv_unknown_role.into(),
            Invalid::UnknownLanguage => self.inv_unknown_language.into(),
            Invalid::ConnectionNameTaken => self.inv_connection_name_taken.into(),
            Invalid::EshopNameInvalid => self.inv_eshop_name_invalid.into(),
            Invalid::SeUsernameEmpty => self.inv_se_username_empty.into(),
            Invalid::ApiKeyRequired(system) => {
                format!("{} {}.", self.inv_api_key_required, self.system(*system))
            }
            Invalid::CredentialsRefused {
                fapi,
                smartemailing,
            } => {
                let mut text = self.inv_credentials_refused.to_string();
                for (system, outcome) in
                    [(System::Fapi, fapi), (System::SmartEmailing, smartemailing)]
                {
                    if let Some(outcome) = outcome {
                        text.push_str(&format!(
                            " {}: {}.",
                            self.system(system),
                            self.check_outcome(outcome)
                        ));
                    }
                }
                text
            }
            Invalid::ConfirmationMissing => self.inv_confirmation_missing.into(),
            Invalid::CountChanged { now } => (self.inv_count_changed)(*now),
            Invalid::SyncAlreadyRunning { .. } => self.inv_sync_already_running.into(),
            Invalid::RunNotControllable => self.inv_run_not_controllable.into(),
            Invalid::DateInvalid => self.inv_date_invalid.into(),
            Invalid::ReminderNotDue => self.inv_reminder_not_due.into(),
            Invalid::ReminderAlreadyDue => self.inv_reminder_already_due.into(),
            Invalid::ReminderFinished => self.inv_reminder_finished.into(),
            Invalid::NothingSelected => self.inv_nothing_selected.into(),
            Invalid::ConnectionRequired => self.inv_connection_required.into(),
            Invalid::ListUnknown => self.inv_list_unknown.into(),
            Invalid::MappingInvalid(detail) => format!("{} {detail}", self.inv_mapping_invalid),
            Invalid::EmailOff => self.alerts.email_off_error.into(),
        }
    }

    /// A FAPI field of the field mapping, in words.
    pub fn fapi_field(&self, field: &FapiField) -> &'static str {
        match field {
            FapiField::CustomField(_) => self.field_custom_field,
            FapiField::ShippingMethod => self.field_shipping_method,
            FapiField::PaymentType => self.field_payment_type,
            FapiField::DiscountCode => self.field_discount_code,
            FapiField::Labels => self.field_labels,
            FapiField::Language => self.field_language,
            FapiField::CompanyId => self.field_company_id,
            FapiField::VatId => self.field_vat_id,
            FapiField::VariableSymbol => self.field_variable_symbol,
        }
    }

    pub fn system(&self, system: System) -> &'static str {
        system_name(system)
    }

    /// A credential check's result in words, with the provider's own message.
    pub fn check_outcome(&self, outcome: &CheckOutcome) -> String {
        match outcome {
            CheckOutcome::Ok => self.outcome_ok.into(),
            CheckOutcome::WrongCredentials(message) => {
                format!("{} ({message})", self.outcome_wrong_credentials)
            }
            CheckOutcome::Unreachable(message) => {
                format!("{} ({message})", self.outcome_unreachable)
            }
            CheckOutcome::Timeout => self.outcome_timeout.into(),
            CheckOutcome::Failed(message) => format!("{} ({message})", self.outcome_failed),
        }
    }
}

/// The current language as a signal, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct I18n(RwSignal<Lang>);

impl I18n {
    pub fn lang(&self) -> Lang {
        self.0.get()
    }

    /// The texts of the current language (reactive: re-runs when the language changes).
    pub fn t(&self) -> &'static Texts {
        self.0.get().texts()
    }

    pub fn set(&self, lang: Lang) {
        self.0.set(lang);
    }
}

pub fn provide_i18n(initial: Lang) -> I18n {
    let i18n = I18n(RwSignal::new(initial));
    provide_context(i18n);
    i18n
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

/// A reactive text: `t!(i18n, nav_team)` is `move || i18n.t().nav_team`.
#[macro_export]
macro_rules! t {
    ($i18n:expr, $field:ident) => {
        move || $i18n.t().$field
    };
}

/// The language the page was rendered in: from the request on the server, from
/// `<html lang>` (which the server wrote) in the browser, so hydration sees the same text.
pub fn initial_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .map(|parts| {
                let cookie = parts.headers.get(http::header::COOKIE);
                Lang::from_cookie_header(cookie.and_then(|v| v.to_str().ok()))
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        #[cfg(feature = "hydrate")]
        {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
                .and_then(|e| e.get_attribute("lang"))
                .and_then(|code| Lang::parse(&code))
                .unwrap_or_default()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            Lang::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn czech_counts_take_the_right_plural() {
        let move_text = |count| (Lang::Cs.texts().confirm_move)(count, "Noví");
        assert!(
            move_text(1).starts_with("Přesunout 1 kontakt do"),
            "{}",
            move_text(1)
        );
        assert!(
            move_text(2).starts_with("Přesunout 2 kontakty do"),
            "{}",
            move_text(2)
        );
        assert!(
            move_text(4).starts_with("Přesunout 4 kontakty do"),
            "{}",
            move_text(4)
        );
        assert!(
            move_text(5).starts_with("Přesunout 5 kontaktů do"),
            "{}",
            move_text(5)
        );
        assert!(
            move_text(0).starts_with("Přesunout 0 kontaktů do"),
            "{}",
            move_text(0)
        );
        let delete = (Lang::Cs.texts().confirm_delete)(1);
        assert!(delete.starts_with("Trvale smazat 1 kontakt ze"), "{delete}");
        let retry = (Lang::Cs.texts().retry_all_failed_confirm)(3);
        assert_eq!(retry, "Ano, znovu odeslat všechny 3 chybné objednávky");
        assert_eq!(cs_plural(12, "a", "b", "c"), "c");
        assert_eq!(
            cs_plural(22, "a", "b", "c"),
            "c",
            "Czech counts 22 like 5, not like 2"
        );
    }

    #[test]
    fn english_counts_take_the_right_plural() {
        let blacklist = |count| (Lang::En.texts().confirm_blacklist)(count);
        assert!(
            blacklist(1).starts_with("Blacklist 1 contact."),
            "{}",
            blacklist(1)
        );
        assert!(
            blacklist(2).starts_with("Blacklist 2 contacts."),
            "{}",
            blacklist(2)
        );
    }

    #[test]
    fn the_chosen_language_else_czech() {
        assert_eq!(Lang::from_cookie_header(Some("a=b; lang=en")), Lang::En);
        assert_eq!(Lang::from_cookie_header(Some("lang=cs")), Lang::Cs);
        assert_eq!(Lang::from_cookie_header(Some("lang=xx")), Lang::Cs);
        assert_eq!(Lang::from_cookie_header(None), Lang::Cs);
    }

    #[test]
    fn code_tables_match_in_both_languages() {
        // Every value has a label (a missing one does not compile); none is left empty.
        for lang in Lang::ALL {
            let t = lang.texts();
            let labels: Vec<&str> = SyncStatus::ALL
                .iter()
                .map(|s| t.sync_status(*s))
                .chain(FapiState::ALL.iter().map(|s| t.fapi_state(*s)))
                .chain(AttemptOutcome::ALL.iter().map(|o| t.attempt_outcome(*o)))
                .chain(DocumentKind::KNOWN.iter().map(|k| t.document_kind(k)))
                .chain(
                    NotificationStatus::ALL
                        .iter()
                        .map(|s| t.notification_status(*s)),
                )
                .chain(RunKind::ALL.iter().map(|k| t.run_kind(*k)))
                .chain(RunStatus::ALL.iter().map(|s| t.run_status(*s)))
                .chain(RunPhase::ALL.iter().map(|p| t.run_phase(*p)))
                .chain(ContactJobKind::ALL.iter().map(|k| t.contact_job_kind(*k)))
                .chain(
                    ContactJobStatus::ALL
                        .iter()
                        .map(|s| t.contact_job_status(*s)),
                )
                .chain(ReminderState::ALL.iter().map(|s| t.reminder_state(*s)))
                .collect();
            assert!(labels.iter().all(|l| !l.is_empty()), "{lang:?}: {labels:?}");
        }
        let other = DocumentKind::Other("receipt".into());
        assert_eq!(Lang::Cs.texts().document_kind(&other), "receipt");
    }

    #[test]
    fn every_audit_action_has_a_label_in_both_languages() {
        for lang in Lang::ALL {
            let codes: Vec<_> = lang.texts().audit_actions.iter().map(|(c, _)| *c).collect();
            let other: Vec<_> = Lang::Cs
                .texts()
                .audit_actions
                .iter()
                .map(|(c, _)| *c)
                .collect();
            assert_eq!(codes, other, "{lang:?}");
        }
    }
}
