//! Team members (admins only): list, add, change role, disable, set a new password.

use leptos::prelude::*;

use crate::api::team::{
    AddTeamMember, ChangeMemberRole, ResetMemberPassword, SetMemberDisabled, list_team,
};
use crate::app::components::{ActionOutcome, ErrorMessage, Loading, Time};
use crate::app::pages::not_found::Forbidden;
use crate::error::AppError;
use crate::i18n::use_i18n;
use crate::model::{Role, TeamMember};
use crate::t;

#[component]
pub fn TeamPage() -> impl IntoView {
    let i18n = use_i18n();
    let add = ServerAction::<AddTeamMember>::new();
    let change_role = ServerAction::<ChangeMemberRole>::new();
    let set_disabled = ServerAction::<SetMemberDisabled>::new();
    let reset_password = ServerAction::<ResetMemberPassword>::new();
    let members = Resource::new(
        move || {
            (
                add.version().get(),
                change_role.version().get(),
                set_disabled.version().get(),
                reset_password.version().get(),
            )
        },
        |_| list_team(),
    );
    // The latest of the row actions, for one message above the table.
    let row_result = Signal::derive(move || {
        [
            change_role.value().get(),
            set_disabled.value().get(),
            reset_password.value().get(),
        ]
        .into_iter()
        .flatten()
        .find(Result::is_err)
        .or_else(|| {
            [
                change_role.value().get(),
                set_disabled.value().get(),
                reset_password.value().get(),
            ]
            .into_iter()
            .flatten()
            .next()
        })
    });

    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match members.await {
                    Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(team) => {
                        let me = team.me;
                        view! {
                            <h1>{t!(i18n, team_title)}</h1>
                            <p>{t!(i18n, team_intro)}</p>
                            <ActionOutcome result=row_result success=|t| t.saved />
                            <div class="table-wrap">
                                <table>
                                    <thead>
                                        <tr>
                                            <th scope="col">{t!(i18n, col_name)}</th>
                                            <th scope="col">{t!(i18n, col_email)}</th>
                                            <th scope="col">{t!(i18n, col_role)}</th>
                                            <th scope="col">{t!(i18n, col_status)}</th>
                                            <th scope="col">{t!(i18n, col_since)}</th>
                                            <th scope="col">{t!(i18n, col_actions)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {team
                                            .members
                                            .into_iter()
                                            .map(|member| {
                                                let is_me = member.id == me;
                                                view! {
                                                    <MemberRow
                                                        member
                                                        is_me
                                                        change_role
                                                        set_disabled
                                                        reset_password
                                                    />
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <AddMemberForm add />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn MemberRow(
    member: TeamMember,
    is_me: bool,
    change_role: ServerAction<ChangeMemberRole>,
    set_disabled: ServerAction<SetMemberDisabled>,
    reset_password: ServerAction<ResetMemberPassword>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = member.id;
    let role = member.role;
    let disabled = member.disabled;
    let name = member.name.clone();
    let name_for_role = name.clone();
    let name_for_password = name.clone();
    view! {
        <tr class:disabled=disabled>
            <td>
                {member.name.clone()}
                {is_me.then(|| view! { " " {t!(i18n, you)} })}
            </td>
            <td>{member.email.clone()}</td>
            <td>{move || i18n.t().role(role)}</td>
            <td>
                {move || {
                    if disabled { i18n.t().status_disabled } else { i18n.t().status_active }
                }}
            </td>
            <td>
                <Time time=member.created_at.clone() />
            </td>
            <td class="row-actions">
                <ActionForm action=change_role attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id />
                    <label for=format!("role-{id}")>
                        {move || (i18n.t().new_role_for)(&name_for_role)}
                    </label>
                    <select id=format!("role-{id}") name="role">
                        <RoleOptions selected=role />
                    </select>
                    <button type="submit" class="secondary">
                        {t!(i18n, change_role)}
                    </button>
                </ActionForm>
                <Show when=move || !is_me>
                    <ActionForm action=set_disabled attr:class="inline-form">
                        <input type="hidden" name="user_id" value=id />
                        <input type="hidden" name="disabled" value=(!disabled).to_string() />
                        <button type="submit" class="secondary">
                            {move || if disabled { i18n.t().enable } else { i18n.t().disable }}
                        </button>
                    </ActionForm>
                </Show>
                <ActionForm action=reset_password attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id />
                    <label for=format!("password-{id}")>
                        {move || (i18n.t().new_password_for)(&name_for_password)}
                    </label>
                    <input
                        id=format!("password-{id}")
                        type="password"
                        name="password"
                        autocomplete="new-password"
                        required
                    />
                    <button type="submit" class="secondary">
                        {t!(i18n, reset_password)}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
fn RoleOptions(selected: Role) -> impl IntoView {
    let i18n = use_i18n();
    Role::ALL
        .into_iter()
        .map(|role| {
            view! {
                <option value=role.as_str() selected=role == selected>
                    {move || i18n.t().role(role)}
                </option>
            }
        })
        .collect_view()
}

#[component]
fn AddMemberForm(add: ServerAction<AddTeamMember>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" aria-labelledby="add-member-title">
            <h2 id="add-member-title">{t!(i18n, add_member_title)}</h2>
            <ActionForm action=add>
                <div class="field-row">
                    <div class="field">
                        <label for="member-email">{t!(i18n, email)}</label>
                        <input id="member-email" type="email" name="email" required />
                    </div>
                    <div class="field">
                        <label for="member-name">{t!(i18n, name)}</label>
                        <input id="member-name" name="name" />
                    </div>
                    <div class="field">
                        <label for="member-role">{t!(i18n, role)}</label>
                        <select id="member-role" name="role">
                            <RoleOptions selected=Role::Operator />
                        </select>
                    </div>
                    <div class="field">
                        <label for="member-password">{t!(i18n, password)}</label>
                        <input
                            id="member-password"
                            type="password"
                            name="password"
                            autocomplete="new-password"
                            aria-describedby="member-password-rule"
                            required
                        />
                    </div>
                </div>
                <p id="member-password-rule" class="hint">
                    {t!(i18n, password_rule)}
                </p>
                <ActionOutcome result=add.value() success=|t| t.member_added />
                <button type="submit" disabled=move || add.pending().get()>
                    {t!(i18n, add_member)}
                </button>
            </ActionForm>
        </section>
    }
}
