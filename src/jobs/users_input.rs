//! Choosing the users of a job or an audit: pasted or uploaded (a CSV of object ids or UPNs,
//! read by `portal_core::jobs::users` in slices so 100,000 lines never freeze the page, with
//! progress), or added from a search. Bad rows are reported by line number with the reason (a
//! quote never closed included); the rest is kept. A list over 100,000 rows or 10 MB is refused
//! whole with the limit named (a file is measured before it is read).

use leptos::prelude::*;
use portal_core::auth::scopes::Operation;
use portal_core::graph::encode::UserRef;
use portal_core::graph::models::{Collection, User};
use portal_core::graph::request;
use portal_core::jobs::users::{BadReason, TooLarge, UserList, MAX_BYTES};
use wasm_bindgen::JsCast;

use crate::graph_client::use_graph;
use crate::i18n::use_i18n;

/// Lines read between two yields to the browser.
const SLICE_ROWS: usize = 5_000;
/// Bad rows listed at most (the count says how many there are).
const SHOWN_BAD_ROWS: usize = 50;

/// Reads `text` into a list in slices, reporting the bytes read; yields between slices.
async fn parse_in_slices(text: String, progress: RwSignal<Option<(usize, usize)>>) -> UserList {
    let mut list = UserList::default();
    let mut offset = Some(0);
    while let Some(at) = offset {
        progress.set(Some((at, text.len())));
        offset = list.read_slice(&text, at, SLICE_ROWS);
        gloo_timers::future::TimeoutFuture::new(0).await;
    }
    progress.set(None);
    list
}

fn bad_text(i18n: crate::i18n::I18n, reason: BadReason) -> String {
    match reason {
        BadReason::Duplicate { first_line } => {
            i18n.tf("jobs.users.duplicate", &[("line", &first_line.to_string())])
        }
        BadReason::NotAUser => i18n.t("jobs.users.not_a_user"),
        BadReason::UnclosedQuote => i18n.t("jobs.users.unclosed_quote"),
    }
}

/// Why a list was refused whole, and what to do.
fn too_large_text(i18n: crate::i18n::I18n, too_large: TooLarge) -> String {
    match too_large {
        TooLarge::Bytes { bytes } => {
            // One decimal, rounded up so a list just over the limit never reads "10.0 MB".
            let tenths = (bytes as u64).div_ceil(1024 * 1024 / 10);
            let size = format!("{}.{}", tenths / 10, tenths % 10);
            i18n.tf("jobs.users.too_large_bytes", &[("size", &size)])
        }
        TooLarge::Rows { line } => {
            i18n.tf("jobs.users.too_many_rows", &[("line", &line.to_string())])
        }
    }
}

/// The key a user is listed under (object id or UPN).
pub fn user_key(user: &UserRef) -> String {
    user.key().unwrap_or_default().to_string()
}

/// Paste, upload or search; `chosen` holds the list read.
#[component]
pub fn UsersInput(chosen: RwSignal<UserList>) -> impl IntoView {
    let i18n = use_i18n();
    let text = RwSignal::new(String::new());
    let progress: RwSignal<Option<(usize, usize)>> = RwSignal::new(None);
    let read = move |input: String| {
        leptos::task::spawn_local(async move {
            let list = parse_in_slices(input, progress).await;
            chosen.set(list);
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        // Measured before it is read: a file over the limit is never loaded into the page.
        let size = file.size();
        if size > MAX_BYTES as f64 {
            chosen.set(UserList::refused_for_size(size as usize));
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(value) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                if let Some(content) = value.as_string() {
                    let list = parse_in_slices(content, progress).await;
                    chosen.set(list);
                }
            }
        });
    };
    view! {
        <fieldset class="users-input" data-testid="users-input">
            <legend>{i18n.text("jobs.users.title")}</legend>
            <p class="muted">{i18n.text("jobs.users.help")}</p>
            <label for="job-users-text">{i18n.text("jobs.users.paste")}</label>
            <textarea id="job-users-text" rows="6" data-testid="users-text"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <p class="actions">
                <button type="button" data-testid="users-read" on:click=move |_| read(text.get_untracked())>
                    {i18n.text("jobs.users.read")}
                </button>
                " "
                <label for="job-users-file">{i18n.text("jobs.users.upload")}</label>
                " "
                <input id="job-users-file" type="file" accept=".csv,.txt,text/csv,text/plain"
                    data-testid="users-file" on:change=on_file />
            </p>
            {move || progress.get().map(|(at, total)| view! {
                <p role="status">
                    <progress max=total.to_string() value=at.to_string()></progress>
                    " " {i18n.t("jobs.users.reading")}
                </p>
            })}
            <AddFromSearch chosen=chosen />
            <ChosenSummary chosen=chosen />
        </fieldset>
    }
}

/// Finds users by name and adds the ones picked.
#[component]
fn AddFromSearch(chosen: RwSignal<UserList>) -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let term = RwSignal::new(String::new());
    let found: RwSignal<Vec<User>> = RwSignal::new(Vec::new());
    let error = RwSignal::new(None::<String>);
    let search = move || {
        let graph = graph.clone();
        let value = term.get_untracked();
        if value.trim().len() < 2 {
            return;
        }
        leptos::task::spawn_local(async move {
            match graph
                .get::<Collection<User>>(&request::search_users(&value, 10), Operation::FindUsers)
                .await
            {
                Ok(page) => {
                    error.set(None);
                    found.set(page.value);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let search_on_enter = search.clone();
    view! {
        <p class="search-add">
            <label for="job-users-search">{i18n.text("jobs.users.search")}</label>
            " "
            <input id="job-users-search" type="search" data-testid="users-search"
                prop:value=move || term.get()
                on:input=move |ev| term.set(event_target_value(&ev))
                on:keydown=move |ev| if ev.key() == "Enter" { search_on_enter() } />
            " "
            <button type="button" on:click=move |_| search()>{i18n.text("jobs.users.find")}</button>
        </p>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <ul class="found-users" data-testid="users-found">
            {move || found.get().into_iter().map(|user| {
                let upn = user.user_principal_name.clone().unwrap_or_default();
                let label = format!("{} ({upn})", user.display_name.clone().unwrap_or_default());
                let id = user.id.clone();
                view! {
                    <li>
                        {label} " "
                        <button type="button" on:click=move |_| chosen.update(|list| list.add_key(&id))>
                            {i18n.text("jobs.users.add")}
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// How many users were read, and the bad rows by line.
#[component]
fn ChosenSummary(chosen: RwSignal<UserList>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p data-testid="users-count" role="status">
            {move || i18n.tf("jobs.users.count", &[
                ("users", &chosen.with(|l| l.users.len()).to_string()),
                ("bad", &chosen.with(|l| l.bad.len()).to_string()),
            ])}
        </p>
        {move || chosen.with(|list| list.too_large).map(|too_large| view! {
            <p class="error" role="alert" data-testid="users-too-large">{too_large_text(i18n, too_large)}</p>
        })}
        {move || chosen.with(|list| (!list.bad.is_empty()).then(|| {
            let rows = list.bad.iter().take(SHOWN_BAD_ROWS).map(|bad| view! {
                <tr>
                    <td>{bad.line}</td>
                    <td><code>{bad.value.clone()}</code></td>
                    <td>{bad_text(i18n, bad.reason)}</td>
                </tr>
            }).collect_view();
            view! {
                <table class="data-table" data-testid="users-bad">
                    <caption>{i18n.t("jobs.users.bad_title")}</caption>
                    <thead><tr>
                        <th scope="col">{i18n.t("jobs.users.col.line")}</th>
                        <th scope="col">{i18n.t("jobs.users.col.value")}</th>
                        <th scope="col">{i18n.t("jobs.users.col.reason")}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
        }))}
    }
}
