//! The version drift badge of an installation: up to date, update available (with the
//! version), not in the catalog any more, or unknown.

use leptos::prelude::*;
use portal_core::graph::apps::Drift;

use crate::i18n::use_i18n;

/// A badge for `drift`; `data-drift` names the state for styling and tests.
#[component]
pub fn DriftBadge(drift: Drift) -> impl IntoView {
    let i18n = use_i18n();
    let (kind, class) = match &drift {
        Drift::UpToDate { .. } => ("up-to-date", "badge ok"),
        Drift::Outdated { .. } => ("outdated", "badge warn"),
        Drift::NotInCatalog { .. } => ("not-in-catalog", "badge bad"),
        Drift::OutsideOrganizationCatalog { .. } => ("outside-catalog", "badge"),
        Drift::Unknown => ("unknown", "badge"),
    };
    let text = move || match &drift {
        Drift::UpToDate { .. } => i18n.t("drift.up_to_date"),
        Drift::Outdated { latest, .. } => i18n.tf("drift.outdated", &[("latest", latest)]),
        Drift::NotInCatalog { .. } => i18n.t("drift.not_in_catalog"),
        Drift::OutsideOrganizationCatalog { distribution, .. } => {
            i18n.tf("drift.outside_catalog", &[("distribution", distribution)])
        }
        Drift::Unknown => i18n.t("drift.unknown"),
    };
    view! { <span class=class data-drift=kind>{text}</span> }
}
