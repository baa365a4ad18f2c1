//! Finding users by name, UPN or mail as you type: debounced `$search` (older searches are
//! aborted and their late answers ignored), a listbox of results navigable with the arrow keys,
//! Enter to open, and "Show more" following `@odata.nextLink`.

use leptos::__reexports::send_wrapper::SendWrapper;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use portal_core::auth::scopes::Operation;
use portal_core::graph::models::{Collection, User};
use portal_core::graph::request::{self, GraphRequest};
use std::time::Duration;
use web_sys::AbortController;

use crate::auth::use_session;
use crate::components::error_view::CallErrorView;
use crate::context::try_config as use_config;
use crate::graph_client::{call_with, CallError};
use crate::i18n::use_i18n;
use crate::routes::Route;

/// Results per page.
const PAGE_SIZE: u32 = 10;
/// Quiet time after the last keystroke before searching.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// The next active option after `key`, in a list of `len` options (wraps around).
pub fn move_active(current: Option<usize>, len: usize, key: &str) -> Option<usize> {
    if len == 0 {
        return None;
    }
    match (key, current) {
        ("ArrowDown", None) => Some(0),
        ("ArrowDown", Some(i)) => Some((i + 1) % len),
        ("ArrowUp", None) => Some(len - 1),
        ("ArrowUp", Some(i)) => Some((i + len - 1) % len),
        ("Home", _) => Some(0),
        ("End", _) => Some(len - 1),
        (_, current) => current,
    }
}

/// The results list: options with name, UPN and type; `active` is highlighted and announced.
#[component]
pub fn UserResults(
    #[prop(into)] users: Signal<Vec<User>>,
    active: RwSignal<Option<usize>>,
    /// Called with the user chosen (click or Enter).
    on_open: Callback<User>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ul id="user-results" role="listbox" class="user-results" data-testid="user-results"
            aria-label=i18n.text("page.users.results")>
            {move || {
                users
                    .get()
                    .into_iter()
                    .enumerate()
                    .map(|(i, user)| {
                        let upn = user.user_principal_name.clone().unwrap_or_default();
                        let name = user.display_name.clone().unwrap_or_else(|| upn.clone());
                        let guest = user.is_guest();
                        let job = user.job_title.clone();
                        let chosen = user.clone();
                        view! {
                            <li
                                id=format!("user-option-{i}")
                                role="option"
                                data-user-id=user.id.clone()
                                aria-selected=move || (active.get() == Some(i)).to_string()
                                class:active=move || active.get() == Some(i)
                                on:mousedown=move |ev| ev.prevent_default()
                                on:click=move |_| on_open.run(chosen.clone())
                            >
                                <span class="user-name">{name}</span>
                                " "
                                <span class="muted user-upn">{upn}</span>
                                {guest.then(|| view! { " " <span class="tag">{i18n.text("page.users.guest")}</span> })}
                                {job.map(|j| view! { " " <span class="muted">{j}</span> })}
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}

/// Search state.
#[derive(Clone, Debug, Default)]
struct Found {
    term: String,
    users: Vec<User>,
    count: Option<u64>,
    next: Option<GraphRequest>,
}

/// The search box and its results; choosing a user opens `/users/{id}`.
#[component]
pub fn UserSearch() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let navigate = use_navigate();
    let graph_base = use_config().map(|c| c.graph_base_url()).unwrap_or_default();
    let term = RwSignal::new(String::new());
    let found = RwSignal::new(Found::default());
    let searching = RwSignal::new(false);
    let failed = RwSignal::new(None::<CallError>);
    let active = RwSignal::new(None::<usize>);
    let users = Signal::derive(move || found.get().users);
    let sequence = StoredValue::new(0u64);
    let in_flight = StoredValue::new(SendWrapper::new(None::<AbortController>));
    let timer = StoredValue::new(None::<TimeoutHandle>);
    on_cleanup(move || {
        if let Some(handle) = timer.try_get_value().flatten() {
            handle.clear();
        }
        if let Some(Some(c)) = in_flight.try_with_value(|c| (**c).clone()) {
            c.abort();
        }
    });

    // Runs one search (or the next page of the last one), dropping answers that came too late.
    let run = {
        let graph_base = graph_base.clone();
        move |request: GraphRequest, query: String, append: bool| {
            let graph_base = graph_base.clone();
            sequence.update_value(|s| *s += 1);
            let mine = sequence.get_value();
            in_flight.update_value(|c| {
                if let Some(previous) = (**c).take() {
                    previous.abort();
                }
                **c = AbortController::new().ok();
            });
            let signal = in_flight.with_value(|c| c.as_ref().map(AbortController::signal));
            searching.set(true);
            failed.set(None);
            leptos::task::spawn_local(async move {
                let answer = call_with(
                    session,
                    &graph_base,
                    &request,
                    Operation::FindUsers,
                    signal.as_ref(),
                )
                .await;
                if sequence.try_get_value() != Some(mine) {
                    return;
                }
                searching.set(false);
                let page = answer.and_then(|a| {
                    serde_json::from_value::<Collection<User>>(a.body.unwrap_or_default())
                        .map_err(|e| CallError::Decode(e.to_string()))
                });
                match page {
                    Ok(page) => {
                        let next = page
                            .next_link
                            .as_deref()
                            .and_then(|l| request::next_page(&request, &graph_base, l));
                        found.update(|f| {
                            if !append {
                                f.users.clear();
                                active.set(None);
                            }
                            f.term = query;
                            f.users.extend(page.value);
                            f.count = page.count.or(f.count);
                            f.next = next;
                        });
                    }
                    Err(CallError::Aborted) => {}
                    Err(e) => failed.set(Some(e)),
                }
            });
        }
    };
    let run = StoredValue::new(run);

    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        term.set(value.clone());
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        let query = value.trim().to_string();
        if query.is_empty() {
            sequence.update_value(|s| *s += 1);
            found.set(Found::default());
            searching.set(false);
            return;
        }
        let handle = set_timeout_with_handle(
            move || {
                run.with_value(|run| {
                    run(
                        request::search_users(&query, PAGE_SIZE),
                        query.clone(),
                        false,
                    )
                })
            },
            DEBOUNCE,
        )
        .ok();
        timer.set_value(handle);
    };
    let open = {
        let navigate = navigate.clone();
        Callback::new(move |user: User| {
            navigate(&Route::User(user.id).href(), Default::default());
        })
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        let len = found.with_untracked(|f| f.users.len());
        match key.as_str() {
            "ArrowDown" | "ArrowUp" => {
                ev.prevent_default();
                active.set(move_active(active.get_untracked(), len, &key));
            }
            "Enter" => {
                if let Some(user) = active
                    .get_untracked()
                    .and_then(|i| found.with_untracked(|f| f.users.get(i).cloned()))
                {
                    ev.prevent_default();
                    open.run(user);
                }
            }
            "Escape" => active.set(None),
            _ => {}
        }
    };
    let more = move |_| {
        let (next, query) = found.with_untracked(|f| (f.next.clone(), f.term.clone()));
        if let Some(next) = next {
            run.with_value(|run| run(next, query, true));
        }
    };
    view! {
        <div class="user-search">
            <label for="user-search-input">{i18n.text("page.users.search_label")}</label>
            <input
                id="user-search-input"
                type="search"
                role="combobox"
                autocomplete="off"
                data-testid="user-search"
                aria-autocomplete="list"
                aria-controls="user-results"
                aria-describedby="user-search-hint"
                aria-expanded=move || (!found.get().users.is_empty()).to_string()
                aria-activedescendant=move || active.get().map(|i| format!("user-option-{i}"))
                placeholder=i18n.text("page.users.search_placeholder")
                prop:value=move || term.get()
                on:input=on_input
                on:keydown=on_keydown
            />
            <p id="user-search-hint" class="muted">{i18n.text("page.users.hint")}</p>
            <p role="status" class="muted" data-testid="user-search-status">
                {move || {
                    let f = found.get();
                    if searching.get() {
                        i18n.t("page.users.searching")
                    } else if f.term.is_empty() {
                        String::new()
                    } else if f.users.is_empty() {
                        i18n.tf("page.users.none", &[("term", &f.term)])
                    } else {
                        let count = f.count.unwrap_or(f.users.len() as u64).to_string();
                        i18n.tf("page.users.count", &[("count", &count)])
                    }
                }}
            </p>
            <UserResults users=users active=active on_open=open />
            {move || found.get().next.is_some().then(|| view! {
                <button type="button" class="secondary" data-testid="more-users" on:click=more>{i18n.t("page.users.more")}</button>
            })}
            {move || failed.get().map(|e| view! { <CallErrorView error=e /> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::move_active;

    #[test]
    fn arrows_wrap_and_home_end_jump() {
        assert_eq!(move_active(None, 3, "ArrowDown"), Some(0));
        assert_eq!(move_active(Some(2), 3, "ArrowDown"), Some(0));
        assert_eq!(move_active(Some(0), 3, "ArrowUp"), Some(2));
        assert_eq!(move_active(None, 3, "ArrowUp"), Some(2));
        assert_eq!(move_active(Some(1), 3, "End"), Some(2));
        assert_eq!(move_active(Some(1), 3, "x"), Some(1));
        assert_eq!(move_active(Some(1), 0, "ArrowDown"), None);
    }
}
