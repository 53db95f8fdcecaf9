//! A list page from the server, newest first, in one component: the boundary it loads in, its
//! error, what the page shows above the table (title, filters, actions), the table, and the way
//! to older entries (the server pages by keyset: `next_before` is the `before` of the next page).

use std::sync::Arc;

use leptos::prelude::*;

use crate::app::components::{ErrorMessage, Loading};
use crate::error::AppError;
use crate::i18n::{Texts, use_i18n};
use crate::model::{
    AuditEntry, AuditPage, EmailPage, EmailRow, NotificationPage, NotificationRow, OrderPage,
    OrderRow, RunPage, RunRow,
};
use crate::t;

/// A column heading.
pub type Column = fn(&Texts) -> &'static str;

/// A page of rows as a server function returns it.
pub trait Paged: Clone + Send + Sync + 'static {
    type Row: 'static;

    /// The rows, and the `before` of the next (older) page if there is one.
    fn into_rows(self) -> (Vec<Self::Row>, Option<i64>);
}

impl Paged for AuditPage {
    type Row = AuditEntry;

    fn into_rows(self) -> (Vec<AuditEntry>, Option<i64>) {
        (self.entries, self.next_before)
    }
}

impl Paged for EmailPage {
    type Row = EmailRow;

    fn into_rows(self) -> (Vec<EmailRow>, Option<i64>) {
        (self.rows, self.next_before)
    }
}

impl Paged for OrderPage {
    type Row = OrderRow;

    fn into_rows(self) -> (Vec<OrderRow>, Option<i64>) {
        (self.rows, self.next_before)
    }
}

impl Paged for NotificationPage {
    type Row = NotificationRow;

    fn into_rows(self) -> (Vec<NotificationRow>, Option<i64>) {
        (self.rows, self.next_before)
    }
}

impl Paged for RunPage {
    type Row = RunRow;

    fn into_rows(self) -> (Vec<RunRow>, Option<i64>) {
        (self.rows, self.next_before)
    }
}

/// How the user reaches older entries.
#[derive(Clone, Copy)]
pub enum Older {
    /// A link to the older page; its address from that page's `before` (filters stay in it).
    Link(Callback<i64, String>),
    /// A button that moves the list's own `before` (the address stays the same).
    Button(RwSignal<Option<i64>>),
}

impl Older {
    /// A link whose address is made from the next page's `before`.
    pub fn link(href: impl Fn(i64) -> String + Send + Sync + 'static) -> Older {
        Older::Link(Callback::new(href))
    }

    fn view(self, next: i64) -> AnyView {
        let i18n = use_i18n();
        match self {
            Older::Link(href) => view! {
                <p>
                    <a class="button secondary" href=href.run(next)>
                        {t!(i18n, older_entries)}
                    </a>
                </p>
            }
            .into_any(),
            Older::Button(before) => view! {
                <button class="secondary" on:click=move |_| before.set(Some(next))>
                    {t!(i18n, older_entries)}
                </button>
            }
            .into_any(),
        }
    }
}

/// A list loaded by `page`: while it loads, "Loading…"; on an error, the error (or `forbidden`
/// when the role may not see the list); then `above`, `empty` when there are no rows, the table
/// with a `row` per row, and the way to `older` entries.
#[component]
pub fn PagedTable<P, A, AV, R, RV>(
    page: Resource<Result<P, AppError>>,
    /// What the page shows above the table, made from the loaded page.
    above: A,
    columns: &'static [Column],
    row: R,
    older: Older,
    /// Shown above the (empty) table when the page has no rows.
    #[prop(optional, into)]
    empty: Option<ViewFn>,
    /// Shown instead of the error when the user's role may not see the list.
    #[prop(optional, into)]
    forbidden: Option<ViewFn>,
) -> impl IntoView
where
    P: Paged + serde::Serialize + serde::de::DeserializeOwned,
    A: Fn(&P) -> AV + Send + Sync + 'static,
    AV: IntoView + 'static,
    R: Fn(P::Row) -> RV + Send + Sync + 'static,
    RV: IntoView + 'static,
{
    let above = Arc::new(above);
    let row = Arc::new(row);
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || {
                let (above, row, empty, forbidden) = (
                    above.clone(),
                    row.clone(),
                    empty.clone(),
                    forbidden.clone(),
                );
                Suspend::new(async move {
                    match (page.await, forbidden) {
                        (Err(AppError::Forbidden), Some(forbidden)) => forbidden.run(),
                        (Err(error), _) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                        (Ok(page), _) => {
                            let above = above(&page);
                            let (rows, next) = page.into_rows();
                            let empty = empty.filter(|_| rows.is_empty()).map(|view| view.run());
                            view! {
                                {above}
                                {empty}
                                <PageOfRows columns rows row=move |r| row(r) next older />
                            }
                                .into_any()
                        }
                    }
                })
            }}
        </Transition>
    }
}

/// The table of a loaded page and the way to older entries: the part of [`PagedTable`] after
/// its data arrived, for a page that shows a list inside its own boundary.
#[component]
pub fn PageOfRows<T, R, RV>(
    columns: &'static [Column],
    rows: Vec<T>,
    row: R,
    /// The `before` of the next (older) page, if there is one.
    next: Option<i64>,
    older: Older,
) -> impl IntoView
where
    T: 'static,
    R: Fn(T) -> RV + 'static,
    RV: IntoView + 'static,
{
    let i18n = use_i18n();
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        {columns
                            .iter()
                            .map(|column| {
                                let column = *column;
                                view! { <th scope="col">{move || column(i18n.t())}</th> }
                            })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody>{rows.into_iter().map(row).collect_view()}</tbody>
            </table>
        </div>
        {next.map(|next| older.view(next))}
    }
}
