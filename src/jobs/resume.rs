//! The question asked before an unfinished job runs again (issue #22): after a sign-in or a
//! reload, the newest unfinished job of the signed-in account that no tab runs is shown as
//! "Resume job Learning Hub (install), 140 of 1,000 left?" with Resume and Not now. Nothing of
//! it is sent before the user answers. Mounted by the shell, on every page.

use leptos::prelude::*;
use portal_core::ownership::resume_question;

use super::use_job_service;
use crate::i18n::use_i18n;

/// The resume question, when there is a job to ask about.
#[component]
pub fn ResumePrompt() -> impl IntoView {
    let i18n = use_i18n();
    let service = use_job_service();
    move || {
        service.prompt.get().map(|header| {
            let left = header.total.saturating_sub(header.done) as u64;
            let total = header.total as u64;
            let question = move || {
                resume_question(i18n.lang(), &header.app_name, header.action, left, total)
            };
            view! {
                <section class="banner resume-prompt" role="region" aria-labelledby="resume-question"
                    data-testid="resume-prompt">
                    <p id="resume-question"><strong data-testid="resume-question">{question}</strong></p>
                    <p class="muted">{i18n.text("jobs.resume.note")}</p>
                    <p class="actions">
                        <button type="button" class="primary" data-testid="resume-yes"
                            on:click=move |_| leptos::task::spawn_local(async move { service.accept().await })>
                            {i18n.text("jobs.resume.yes")}
                        </button>
                        " "
                        <button type="button" data-testid="resume-not-now" on:click=move |_| service.decline()>
                            {i18n.text("jobs.resume.not_now")}
                        </button>
                    </p>
                </section>
            }
        })
    }
}
