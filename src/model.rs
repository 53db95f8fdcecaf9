//! Data shared by the server and the browser: roles, the signed-in user, list rows.
//!
//! Server-only derives (`sqlx::FromRow`, `sqlx::Type`) are attached under the `ssr` feature so
//! the browser half never links sqlx.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a team member may do. Ordered: each role can do everything the one before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also runs syncs and contact actions.
    Operator,
    /// Also manages users and connections.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A closed set of codes stored as text (a status, a kind, a phase …): the enum, its text
/// ([`as_str`](SyncStatus::as_str), the same for serde and sqlx), every value (`ALL`) and
/// `parse`. The SQL binds the enum and the UI translates it with a `match`, so a new value is
/// a compile error wherever it is not handled.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type))]
        #[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value of a stored text; `None` for an unknown one.
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// An order's sync status (`orders.sync_status`).
    pub enum SyncStatus {
        /// Queued for SmartEmailing (a first try or a retry).
        Pending => "pending",
        Synced => "synced",
        /// Gave up, with the provider's message.
        Failed => "failed",
        /// Not forwarded (e.g. created before forwarding was switched on).
        Skipped => "skipped",
    }
}

text_enum! {
    /// An order's state in FAPI (`orders.fapi_state`, `orders.synced_state`), in the only
    /// direction it may move: ordered, so the later state is the greater.
    #[derive(PartialOrd, Ord)]
    pub enum FapiState {
        Unpaid => "unpaid",
        Paid => "paid",
        Cancelled => "cancelled",
    }
}

text_enum! {
    /// A notification's lifecycle (`notifications.status`).
    pub enum NotificationStatus {
        Queued => "queued",
        Processing => "processing",
        Processed => "processed",
        /// The `security` hash did not match the invoice.
        Rejected => "rejected",
        /// No usable `id`.
        Invalid => "invalid",
        ForwardingOff => "forwarding_off",
        /// Gave up (FAPI kept failing, or the invoice does not exist).
        Failed => "failed",
    }
}

text_enum! {
    /// The outcome of one push of an order (`order_attempts.outcome`).
    pub enum AttemptOutcome {
        Synced => "synced",
        /// Failed; another attempt is scheduled.
        Retry => "retry",
        Failed => "failed",
    }
}

text_enum! {
    /// What a sync run is (`sync_runs.kind`).
    pub enum RunKind {
        Historical => "historical",
        Reconciliation => "reconciliation",
    }
}

text_enum! {
    /// A sync run's status (`sync_runs.status`).
    pub enum RunStatus {
        Running => "running",
        Paused => "paused",
        Cancelled => "cancelled",
        Completed => "completed",
        Failed => "failed",
    }
}

text_enum! {
    /// Where a historical sync is (`sync_runs.phase`).
    pub enum RunPhase {
        Counting => "counting",
        Clients => "clients",
        Fetching => "fetching",
        Sending => "sending",
        Done => "done",
    }
}

text_enum! {
    /// A pause or cancel asked for by a user, applied by the run between pages
    /// (`sync_runs.requested`).
    pub enum RunRequest {
        Pause => "pause",
        Cancel => "cancel",
    }
}

text_enum! {
    /// What a contact job does (`contact_jobs.kind`).
    pub enum ContactJobKind {
        Refresh => "refresh",
        Move => "move",
        Blacklist => "blacklist",
        Delete => "delete",
    }
}

text_enum! {
    /// A contact job's status (`contact_jobs.status`).
    pub enum ContactJobStatus {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
    }
}

text_enum! {
    /// What happened to one contact of a bulk action (`contact_job_items.status`).
    pub enum ContactJobItemStatus {
        Pending => "pending",
        Done => "done",
        Failed => "failed",
    }
}

text_enum! {
    /// A reminder as stored (`reminders.status`).
    pub enum ReminderStatus {
        Scheduled => "scheduled",
        Done => "done",
        Cancelled => "cancelled",
    }
}

text_enum! {
    /// A reminder as users see it: a scheduled one is upcoming until its time, then due.
    pub enum ReminderState {
        Upcoming => "upcoming",
        Due => "due",
        Done => "done",
        Cancelled => "cancelled",
    }
}

text_enum! {
    /// The kind of a live credential check's result (`connections.fapi_check`, `se_check`).
    pub enum CheckKind {
        Ok => "ok",
        WrongCredentials => "wrong_credentials",
        Unreachable => "unreachable",
        Timeout => "timeout",
        Failed => "failed",
    }
}

/// What a FAPI document is (`order_documents.kind`): FAPI's `type`. FAPI may add types, so an
/// unknown one is kept as it came (and shown as it is).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DocumentKind {
    /// Zálohová faktura: issued before payment.
    Proforma,
    /// Daňový doklad.
    Invoice,
    SimplifiedInvoice,
    /// Opravný daňový doklad / dobropis.
    CreditNote,
    PaymentConfirmation,
    Other(String),
}

impl DocumentKind {
    /// The types the bridge knows.
    pub const KNOWN: [DocumentKind; 5] = [
        DocumentKind::Proforma,
        DocumentKind::Invoice,
        DocumentKind::SimplifiedInvoice,
        DocumentKind::CreditNote,
        DocumentKind::PaymentConfirmation,
    ];

    /// The stored text (FAPI's `type`).
    pub fn as_str(&self) -> &str {
        match self {
            DocumentKind::Proforma => "proforma",
            DocumentKind::Invoice => "invoice",
            DocumentKind::SimplifiedInvoice => "simplified_invoice",
            DocumentKind::CreditNote => "credit_note",
            DocumentKind::PaymentConfirmation => "payment_confirmation",
            DocumentKind::Other(other) => other,
        }
    }

    pub fn parse(text: &str) -> DocumentKind {
        DocumentKind::KNOWN
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .unwrap_or_else(|| DocumentKind::Other(text.to_string()))
    }
}

impl From<String> for DocumentKind {
    fn from(text: String) -> Self {
        match DocumentKind::parse(&text) {
            DocumentKind::Other(_) => DocumentKind::Other(text),
            known => known,
        }
    }
}

impl From<DocumentKind> for String {
    fn from(kind: DocumentKind) -> Self {
        match kind {
            DocumentKind::Other(text) => text,
            known => known.as_str().to_string(),
        }
    }
}

impl std::fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `DocumentKind` is stored as its text; it cannot derive `sqlx::Type` because of `Other`.
#[cfg(feature = "ssr")]
mod document_kind_sql {
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::sqlite::{Sqlite, SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
    use sqlx::{Decode, Encode, Type};

    use super::DocumentKind;

    impl Type<Sqlite> for DocumentKind {
        fn type_info() -> SqliteTypeInfo {
            <str as Type<Sqlite>>::type_info()
        }

        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <str as Type<Sqlite>>::compatible(ty)
        }
    }

    impl<'q> Encode<'q, Sqlite> for DocumentKind {
        fn encode_by_ref(
            &self,
            buf: &mut Vec<SqliteArgumentValue<'q>>,
        ) -> Result<IsNull, BoxDynError> {
            <String as Encode<'q, Sqlite>>::encode(self.as_str().to_string(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for DocumentKind {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            Ok(DocumentKind::parse(<&str as Decode<'r, Sqlite>>::decode(
                value,
            )?))
        }
    }
}

/// A moment, carried as UTC and as the text shown to users (Europe/Prague).
///
/// The server formats the local text so both halves render the same characters and the browser
/// needs no time-zone database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayTime {
    pub utc: DateTime<Utc>,
    pub prague: String,
}

/// The signed-in user as the UI knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn can(&self, needed: Role) -> bool {
        self.role >= needed
    }
}

/// A row of the Team page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DisplayTime,
}

/// The Team page: every member, and which one is the viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub me: i64,
    pub members: Vec<TeamMember>,
}

/// A row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DisplayTime,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub details: Option<String>,
    pub client_addr: Option<String>,
}

/// One page of the audit log, newest first; `next_before` continues the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_before: Option<i64>,
}

/// One of the two external systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum System {
    Fapi,
    SmartEmailing,
}

/// The result of a live credential check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckOutcome {
    Ok,
    /// The provider refused the login or key; its message.
    WrongCredentials(String),
    Unreachable(String),
    Timeout,
    Failed(String),
}

impl CheckOutcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, CheckOutcome::Ok)
    }

    /// The kind, as stored, and the provider's message, if any.
    pub fn kind(&self) -> (CheckKind, Option<&str>) {
        match self {
            CheckOutcome::Ok => (CheckKind::Ok, None),
            CheckOutcome::WrongCredentials(m) => (CheckKind::WrongCredentials, Some(m)),
            CheckOutcome::Unreachable(m) => (CheckKind::Unreachable, Some(m)),
            CheckOutcome::Timeout => (CheckKind::Timeout, None),
            CheckOutcome::Failed(m) => (CheckKind::Failed, Some(m)),
        }
    }

    /// The outcome of a stored kind and message.
    pub fn from_kind(kind: CheckKind, message: String) -> CheckOutcome {
        match kind {
            CheckKind::Ok => CheckOutcome::Ok,
            CheckKind::WrongCredentials => CheckOutcome::WrongCredentials(message),
            CheckKind::Unreachable => CheckOutcome::Unreachable(message),
            CheckKind::Timeout => CheckOutcome::Timeout,
            CheckKind::Failed => CheckOutcome::Failed(message),
        }
    }
}

/// When a side of a connection was last checked, and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub checked_at: Option<DisplayTime>,
    pub outcome: Option<CheckOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRef {
    pub id: i64,
    pub name: String,
}

/// A connection as the UI shows it. API keys never leave the server; the webhook URL (a
/// secret too) is filled in for admins only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub id: i64,
    pub name: String,
    pub eshop_name: String,
    pub fapi_login: String,
    pub se_username: String,
    pub forwarding_enabled: bool,
    pub forwarding_since: Option<DisplayTime>,
    pub default_list: Option<ListRef>,
    pub fapi: Health,
    pub smartemailing: Health,
    pub webhook_url: Option<String>,
    pub created_at: DisplayTime,
}

/// The Connections page, with what the viewer's role allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionList {
    pub can_manage: bool,
    pub connections: Vec<ConnectionView>,
}

/// One connection's page, with what the viewer's role allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionDetail {
    pub connection: ConnectionView,
    /// Admins: edit, delete, switches, webhook URL.
    pub can_manage: bool,
    /// Operators and admins: re-check the credentials.
    pub can_test: bool,
}

/// A connection's id and name, for filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRef {
    pub id: i64,
    pub name: String,
}

/// A row of the Orders page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub id: i64,
    pub connection: String,
    pub eshop_code: String,
    pub fapi_numbers: String,
    pub customer_email: Option<String>,
    pub total: Option<String>,
    pub currency: Option<String>,
    pub fapi_state: FapiState,
    /// The status SmartEmailing holds (placed, processing, cancelled), once pushed.
    pub se_status: Option<String>,
    pub sync_status: SyncStatus,
    pub status_reason: Option<String>,
    pub attempts: i64,
    pub created: Option<DisplayTime>,
    pub last_attempt: Option<DisplayTime>,
    /// The buyer was forgotten (GDPR): the order has no personal data and is never sent.
    pub buyer_forgotten: bool,
}

/// Filters of the Orders page (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFilter {
    pub connection: Option<i64>,
    pub status: Option<SyncStatus>,
    /// Orders created on or after this day (YYYY-MM-DD, Prague).
    pub from: Option<String>,
    /// … and on or before this day.
    pub to: Option<String>,
    /// An e-mail (or its beginning) or a FAPI document number / order id.
    pub search: Option<String>,
    /// Orders queued by this historical sync run.
    pub run: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    pub rows: Vec<OrderRow>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
    pub connections: Vec<ConnectionRef>,
    /// Operators and admins may retry.
    pub can_retry: bool,
    /// Failed orders matching the connection filter (what "retry all failed" would take).
    pub failed_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentView {
    pub invoice_id: i64,
    pub number: Option<String>,
    pub kind: DocumentKind,
    pub fetched_at: DisplayTime,
    /// The document as FAPI returned it (pretty JSON).
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub at: DisplayTime,
    pub outcome: AttemptOutcome,
    pub http_status: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub order: OrderRow,
    pub source: String,
    pub next_attempt: Option<DisplayTime>,
    pub documents: Vec<DocumentView>,
    pub attempts: Vec<AttemptView>,
    /// The exact order and contact last built for SmartEmailing (pretty JSON).
    pub payload: Option<String>,
    pub can_retry: bool,
}

/// A row of the Notifications view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub id: i64,
    pub connection: String,
    pub received: DisplayTime,
    pub invoice_id: Option<i64>,
    pub status: NotificationStatus,
    pub status_reason: Option<String>,
    pub order_id: Option<i64>,
    pub remote_addr: Option<String>,
    pub content_type: Option<String>,
    pub raw_body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPage {
    pub rows: Vec<NotificationRow>,
    pub next_before: Option<i64>,
}

/// A sync run (historical sync or reconciliation) as the Sync history lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: i64,
    pub connection_id: i64,
    pub connection: String,
    pub kind: RunKind,
    pub started_by: String,
    pub started_at: DisplayTime,
    pub finished_at: Option<DisplayTime>,
    pub duration_secs: Option<i64>,
    pub status: RunStatus,
    pub status_reason: Option<String>,
    /// Historical syncs only.
    pub phase: Option<RunPhase>,
    /// FAPI documents to look at (historical syncs).
    pub total: Option<i64>,
    /// FAPI documents looked at so far.
    pub documents: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    /// A pause or cancel the job has not applied yet.
    pub requested: Option<RunRequest>,
    /// A historical run that re-sends orders with the connection's field mapping.
    pub resend: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPage {
    pub rows: Vec<RunRow>,
    pub next_before: Option<i64>,
    pub connections: Vec<ConnectionRef>,
    /// Operators and admins may start a historical sync.
    pub can_start: bool,
}

/// One run's page: progress and its orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: RunRow,
    /// The run's orders that SmartEmailing has.
    pub synced: i64,
    /// The run's orders waiting to be sent (first try or retry).
    pub waiting: i64,
    /// Documents per second so far.
    pub rate: Option<f64>,
    pub eta_secs: Option<i64>,
    pub orders: Vec<OrderRow>,
    pub next_orders_before: Option<i64>,
    pub can_control: bool,
}

/// When a reminder scheduled now would be due, shown before the user confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPlan {
    pub connection_id: i64,
    pub connection: String,
    pub due_at: DisplayTime,
    /// The completed historical sync the due time follows; `None`: it follows now.
    pub after_run: Option<i64>,
    /// The moment the rule was applied to (the sync's end, or now).
    pub basis: DisplayTime,
    /// The engagement recalculation the reminder follows.
    pub recalculation: DisplayTime,
}

/// A row of the Reminders page and of the banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderView {
    pub id: i64,
    pub connection_id: i64,
    pub connection: String,
    pub due_at: DisplayTime,
    pub note: Option<String>,
    pub after_run: Option<i64>,
    pub created_by: String,
    pub created_at: DisplayTime,
    pub state: ReminderState,
    pub finished_by: Option<String>,
    pub finished_at: Option<DisplayTime>,
}

/// The Reminders page, with what the viewer's role allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPage {
    pub reminders: Vec<ReminderView>,
    pub connections: Vec<ConnectionRef>,
    /// Operators and admins: schedule, mark done, cancel.
    pub can_manage: bool,
}

/// Reminders due now, for the banner on every page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueReminders {
    pub reminders: Vec<ReminderView>,
    pub can_mark_done: bool,
}

/// One connection's health on the Overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewCard {
    pub connection: ConnectionView,
    pub last_notification: Option<DisplayTime>,
    /// Orders queued for SmartEmailing (pending, including those waiting for a retry).
    pub waiting: i64,
    pub failed: i64,
    pub last_run: Option<RunRow>,
    /// Buyers SmartEmailing has in no list (the Contacts page).
    pub without_list: i64,
    pub due_reminders: i64,
    pub next_reminder: Option<DisplayTime>,
}

/// The Overview page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub cards: Vec<OverviewCard>,
    /// Operators and admins: schedule reminders.
    pub can_schedule: bool,
    /// Admins: add connections.
    pub can_manage: bool,
}

/// Filters of the Contacts page (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactFilter {
    pub connection: Option<i64>,
    /// Part of the e-mail or the name.
    pub search: Option<String>,
    /// "paid": has a paid order; "cancelled": only cancelled orders.
    pub buyers: Option<String>,
    /// Last order on or after this day (YYYY-MM-DD, Prague) …
    pub last_from: Option<String>,
    /// … and on or before this day.
    pub last_to: Option<String>,
}

/// A contact without a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRow {
    pub id: i64,
    pub connection_id: i64,
    pub connection: String,
    pub email: String,
    pub name: Option<String>,
    pub orders: i64,
    /// Paid orders' totals per currency, e.g. "1 290.00 CZK".
    pub spent: Vec<String>,
    pub last_order: Option<DisplayTime>,
    /// The FAPI states of the contact's orders, each once (in the order of their text).
    pub states: Vec<FapiState>,
    pub checked_at: Option<DisplayTime>,
}

/// A refresh or bulk action and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactJobView {
    pub id: i64,
    pub connection: String,
    pub kind: ContactJobKind,
    pub list_name: Option<String>,
    pub started_by: String,
    pub created_at: DisplayTime,
    pub status: ContactJobStatus,
    pub status_reason: Option<String>,
    pub total: Option<i64>,
    pub done: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub finished_at: Option<DisplayTime>,
}

/// The Contacts page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPage {
    pub rows: Vec<ContactRow>,
    /// Contacts matching the filters (all pages).
    pub matching: i64,
    pub page: i64,
    pub pages: i64,
    pub connections: Vec<ConnectionRef>,
    /// Connections whose default list keeps new buyers from landing here.
    pub with_default_list: Vec<String>,
    pub jobs: Vec<ContactJobView>,
    /// A fresh key for the next bulk action (a double submit of one form acts once).
    pub request_key: String,
    /// Operators and admins: refresh, move, blacklist.
    pub can_act: bool,
    /// Admins: delete.
    pub can_delete: bool,
}

/// One result of a bulk action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactJobItem {
    pub email: String,
    pub status: ContactJobItemStatus,
    pub message: Option<String>,
}

/// A bulk action's page: progress and the result per contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactJobDetail {
    pub job: ContactJobView,
    pub items: Vec<ContactJobItem>,
}

/// A contact's page: the contact and its orders as SmartEmailing holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetail {
    pub contact: ContactRow,
    pub in_list: Option<bool>,
    pub se_contact_id: Option<i64>,
    pub orders: Vec<OrderRow>,
}

// ---------------------------------------------------------------------------------------------
// Field mapping (a connection's extra fields: FAPI → SmartEmailing)

/// A FAPI field the bridge can send beyond its built-in mapping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum FapiField {
    /// A custom field of the sales form, by its name as FAPI shows it.
    CustomField(String),
    ShippingMethod,
    PaymentType,
    /// The discount (campaign) code used.
    DiscountCode,
    /// The document's labels, by name.
    Labels,
    Language,
    /// IČ: the buyer's company registration number (from the client record).
    CompanyId,
    /// DIČ: the buyer's VAT number (from the client record).
    VatId,
    VariableSymbol,
}

impl FapiField {
    /// The fields with no name of their own, in the order the editor offers them.
    pub const FIXED: [FapiField; 8] = [
        FapiField::ShippingMethod,
        FapiField::PaymentType,
        FapiField::DiscountCode,
        FapiField::Labels,
        FapiField::Language,
        FapiField::CompanyId,
        FapiField::VatId,
        FapiField::VariableSymbol,
    ];

    /// A stable code for forms: `custom_field` or the fixed field's name.
    pub fn code(&self) -> &'static str {
        match self {
            FapiField::CustomField(_) => "custom_field",
            FapiField::ShippingMethod => "shipping_method",
            FapiField::PaymentType => "payment_type",
            FapiField::DiscountCode => "discount_code",
            FapiField::Labels => "labels",
            FapiField::Language => "language",
            FapiField::CompanyId => "company_id",
            FapiField::VatId => "vat_id",
            FapiField::VariableSymbol => "variable_symbol",
        }
    }

    /// The field for a form's code (and the custom field's name, for `custom_field`).
    pub fn from_code(code: &str, custom_name: &str) -> Option<FapiField> {
        if code == "custom_field" {
            let name = custom_name.trim();
            return (!name.is_empty()).then(|| FapiField::CustomField(name.to_string()));
        }
        FapiField::FIXED.into_iter().find(|f| f.code() == code)
    }
}

/// Where a FAPI field goes in SmartEmailing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MappingTarget {
    /// An attribute of the order, under a name of the user's choice.
    OrderAttribute { name: String },
    /// A custom field of the contact; `choice` for select, radio and checkbox fields, whose
    /// values are options.
    ContactField { id: i64, name: String, choice: bool },
}

/// For a choice field: which FAPI value selects which of the field's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionMapping {
    pub fapi_value: String,
    pub option_id: i64,
}

/// One line of a connection's field mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRule {
    pub source: FapiField,
    pub target: MappingTarget,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionMapping>,
}

/// A SmartEmailing contact custom field, with its options (for choice fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeCustomField {
    pub id: i64,
    pub name: String,
    /// `text`, `textarea`, `date`, `select`, `radio`, `checkbox` …
    pub field_type: String,
    pub options: Vec<SeFieldOption>,
}

impl SeCustomField {
    /// Select, radio and checkbox fields take options, not text.
    pub fn is_choice(&self) -> bool {
        matches!(self.field_type.as_str(), "select" | "radio" | "checkbox")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeFieldOption {
    pub id: i64,
    pub name: String,
}

/// The Mapping tab of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMappingPage {
    pub connection: ConnectionRef,
    pub rules: Vec<FieldRule>,
    /// The account's contact custom fields, or why they could not be read.
    pub custom_fields: Result<Vec<SeCustomField>, String>,
    /// FAPI custom-field names seen in the connection's stored documents, for suggestions.
    pub seen_custom_fields: Vec<String>,
    /// Admins edit; everyone else reads.
    pub can_edit: bool,
    /// Operators and admins may re-send orders with the mapping.
    pub can_resend: bool,
}

/// What a preview shows: the FAPI documents of one order and the exact JSON that would be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingPreview {
    /// The documents as FAPI sent them, pretty-printed.
    pub documents: String,
    /// The `POST /import` contact, pretty-printed, or empty when the order cannot be built.
    pub contact: String,
    /// The `POST /import-orders` order, pretty-printed, or empty.
    pub order: String,
    /// Why the order cannot be sent with this mapping, if it cannot.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each value's text is the same for `as_str`, serde and `parse`.
    fn texts_agree<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + Serialize + serde::de::DeserializeOwned,
    {
        for &value in all {
            let text = as_str(value);
            assert_eq!(serde_json::to_value(value).unwrap(), text, "{value:?}");
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(text)).unwrap(),
                value
            );
            assert_eq!(parse(text), Some(value));
        }
        assert_eq!(parse("no such value"), None);
    }

    #[test]
    fn every_status_is_written_and_read_as_its_text() {
        texts_agree(SyncStatus::ALL, SyncStatus::as_str, SyncStatus::parse);
        texts_agree(FapiState::ALL, FapiState::as_str, FapiState::parse);
        texts_agree(
            NotificationStatus::ALL,
            NotificationStatus::as_str,
            NotificationStatus::parse,
        );
        texts_agree(
            AttemptOutcome::ALL,
            AttemptOutcome::as_str,
            AttemptOutcome::parse,
        );
        texts_agree(RunKind::ALL, RunKind::as_str, RunKind::parse);
        texts_agree(RunStatus::ALL, RunStatus::as_str, RunStatus::parse);
        texts_agree(RunPhase::ALL, RunPhase::as_str, RunPhase::parse);
        texts_agree(RunRequest::ALL, RunRequest::as_str, RunRequest::parse);
        texts_agree(
            ContactJobKind::ALL,
            ContactJobKind::as_str,
            ContactJobKind::parse,
        );
        texts_agree(
            ContactJobStatus::ALL,
            ContactJobStatus::as_str,
            ContactJobStatus::parse,
        );
        texts_agree(
            ContactJobItemStatus::ALL,
            ContactJobItemStatus::as_str,
            ContactJobItemStatus::parse,
        );
        texts_agree(
            ReminderStatus::ALL,
            ReminderStatus::as_str,
            ReminderStatus::parse,
        );
        texts_agree(
            ReminderState::ALL,
            ReminderState::as_str,
            ReminderState::parse,
        );
        texts_agree(CheckKind::ALL, CheckKind::as_str, CheckKind::parse);
    }

    #[test]
    fn fapi_states_only_move_forward() {
        assert!(FapiState::Unpaid < FapiState::Paid);
        assert!(FapiState::Paid < FapiState::Cancelled);
    }

    #[test]
    fn an_unknown_document_kind_is_kept_as_it_came() {
        for kind in DocumentKind::KNOWN {
            assert_eq!(DocumentKind::parse(kind.as_str()), kind);
            assert_eq!(serde_json::to_value(&kind).unwrap(), kind.as_str());
        }
        let other = DocumentKind::parse("receipt");
        assert_eq!(other, DocumentKind::Other("receipt".into()));
        assert_eq!(serde_json::to_value(&other).unwrap(), "receipt");
        assert_eq!(
            serde_json::from_value::<DocumentKind>(serde_json::json!("credit_note")).unwrap(),
            DocumentKind::CreditNote
        );
    }

    #[test]
    fn a_check_outcome_is_stored_as_its_kind_and_message() {
        for outcome in [
            CheckOutcome::Ok,
            CheckOutcome::WrongCredentials("no".into()),
            CheckOutcome::Unreachable("down".into()),
            CheckOutcome::Timeout,
            CheckOutcome::Failed("500".into()),
        ] {
            let (kind, message) = outcome.kind();
            let back = CheckOutcome::from_kind(kind, message.unwrap_or_default().to_string());
            assert_eq!(back, outcome);
        }
    }

    /// sqlx writes and reads the same text as `as_str` (its `rename_all` agrees).
    #[cfg(feature = "ssr")]
    #[tokio::test]
    async fn sqlx_binds_and_reads_the_same_text() {
        let db = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        async fn check<T>(db: &sqlx::SqlitePool, all: &[T], as_str: fn(T) -> &'static str)
        where
            T: Copy
                + PartialEq
                + std::fmt::Debug
                + Send
                + Unpin
                + for<'q> sqlx::Encode<'q, sqlx::Sqlite>
                + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
                + sqlx::Type<sqlx::Sqlite>,
        {
            for &value in all {
                let (text, back): (String, T) = sqlx::query_as("SELECT ?, ?")
                    .bind(value)
                    .bind(as_str(value))
                    .fetch_one(db)
                    .await
                    .unwrap();
                assert_eq!(text, as_str(value));
                assert_eq!(back, value);
            }
        }
        check(&db, SyncStatus::ALL, SyncStatus::as_str).await;
        check(&db, FapiState::ALL, FapiState::as_str).await;
        check(&db, NotificationStatus::ALL, NotificationStatus::as_str).await;
        check(&db, AttemptOutcome::ALL, AttemptOutcome::as_str).await;
        check(&db, RunKind::ALL, RunKind::as_str).await;
        check(&db, RunStatus::ALL, RunStatus::as_str).await;
        check(&db, RunPhase::ALL, RunPhase::as_str).await;
        check(&db, RunRequest::ALL, RunRequest::as_str).await;
        check(&db, ContactJobKind::ALL, ContactJobKind::as_str).await;
        check(&db, ContactJobStatus::ALL, ContactJobStatus::as_str).await;
        check(&db, ContactJobItemStatus::ALL, ContactJobItemStatus::as_str).await;
        check(&db, ReminderStatus::ALL, ReminderStatus::as_str).await;
        check(&db, CheckKind::ALL, CheckKind::as_str).await;
        let (text, kind): (String, DocumentKind) = sqlx::query_as("SELECT ?, 'receipt'")
            .bind(DocumentKind::CreditNote)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(text, "credit_note");
        assert_eq!(kind, DocumentKind::Other("receipt".into()));
    }
}

text_enum! {
    /// What an alert is about (`alerts.kind`, `alert_preferences.kind`).
    pub enum AlertKind {
        /// Orders failed for good (a digest per connection, at most one an hour).
        FailedOrders => "failed_orders",
        /// FAPI or SmartEmailing refused the stored credentials.
        Credentials => "credentials",
        /// Reconciliation keeps finding orders whose notification never came.
        NotificationsMissing => "notifications_missing",
        /// A historical sync finished or failed (to the person who started it).
        HistoricalRun => "historical_run",
        /// An engagement reminder fell due.
        Reminder => "reminder",
    }
}

impl AlertKind {
    /// Whether a user of `role` gets this kind by e-mail until they choose otherwise.
    pub fn email_by_default(self, role: Role) -> bool {
        match self {
            AlertKind::Reminder => true,
            _ => role >= Role::Operator,
        }
    }
}

text_enum! {
    /// An e-mail's place in the outbox (`emails.status`).
    pub enum EmailStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
    }
}

text_enum! {
    /// Why an e-mail was sent (`emails.kind`).
    pub enum EmailKind {
        Test => "test",
        Alert => "alert",
        Invitation => "invitation",
    }
}

text_enum! {
    /// Why the SMTP server did not take an e-mail, in words a user can act on.
    pub enum SmtpProblem {
        /// The server refused the user name or password (535 and the like).
        LoginRefused => "login_refused",
        /// TLS could not be set up (not offered, or the certificate was refused).
        Tls => "tls",
        /// The host name does not resolve.
        UnknownHost => "unknown_host",
        /// Nothing answered at the host and port.
        Unreachable => "unreachable",
        Timeout => "timeout",
        /// The server refused the message or a recipient for good (5xx).
        Rejected => "rejected",
        /// The server failed for now (4xx).
        Temporary => "temporary",
        Other => "other",
    }
}

/// One alert in the bell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertItem {
    pub id: i64,
    pub kind: AlertKind,
    /// The condition has ended ("resolved").
    pub resolved: bool,
    pub connection: Option<String>,
    /// A short line of facts (a count, a system, a status), in the server's words.
    pub summary: AlertSummary,
    /// Where to look (a path of the app).
    pub link: String,
    pub at: DisplayTime,
    pub unread: bool,
}

/// The facts of an alert that its one-line text needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AlertSummary {
    pub count: Option<i64>,
    pub system: Option<System>,
    /// A historical run's end: completed or failed.
    pub run_status: Option<RunStatus>,
    pub due_at: Option<DisplayTime>,
}

/// The bell: the latest alerts the user may see, and how many are unread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AlertList {
    pub unread: i64,
    pub items: Vec<AlertItem>,
}

/// One kind of alert in a user's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertChoice {
    pub kind: AlertKind,
    pub email: bool,
}

/// A user's Settings page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSettings {
    /// `SMTP_URL` is set: e-mail can be sent at all.
    pub email_on: bool,
    pub address: String,
    pub choices: Vec<AlertChoice>,
    /// The user has a calendar feed (its address is shown only when it is made).
    pub has_calendar_feed: bool,
}

/// One e-mail of the outbox (the E-mails page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRow {
    pub id: i64,
    pub kind: EmailKind,
    pub to: String,
    pub subject: String,
    pub status: EmailStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DisplayTime,
    pub sent_at: Option<DisplayTime>,
}

/// The E-mails page: the SMTP set-up and a page of the outbox, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPage {
    /// `host:port` of the SMTP server, or `None` when e-mail is off.
    pub server: Option<String>,
    pub from: Option<String>,
    pub rows: Vec<EmailRow>,
    pub next_before: Option<i64>,
}
