//! Every word the administrators read, in Kazakh and Russian.
//!
//! One [`Text`] struct holds all labels and each language is one `const` of it, so a label
//! added for one language and forgotten in the other is a compile error, not a page that
//! silently mixes languages. Kazakh comes first: it is the state language and the default.

mod kk;
mod ru;

use crate::flow::Language;

/// The language of the interface (not of a caller).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Ui {
    /// Kazakh (the default).
    #[default]
    Kk,
    /// Russian.
    Ru,
}

impl Ui {
    /// Every interface language.
    pub const ALL: [Ui; 2] = [Ui::Kk, Ui::Ru];

    /// `kk` or `ru`: the `lang` attribute and the value the language form posts.
    pub fn code(self) -> &'static str {
        match self {
            Ui::Kk => "kk",
            Ui::Ru => "ru",
        }
    }

    /// The language whose code is `code`.
    pub fn from_code(code: &str) -> Option<Ui> {
        Ui::ALL.into_iter().find(|ui| ui.code() == code)
    }

    /// The language's own name, as the switch shows it whatever the current language.
    pub fn own_name(self) -> &'static str {
        match self {
            Ui::Kk => "Қазақша",
            Ui::Ru => "Русский",
        }
    }

    pub(crate) fn text(self) -> &'static Text {
        match self {
            Ui::Kk => &kk::TEXT,
            Ui::Ru => &ru::TEXT,
        }
    }
}

impl From<Language> for Ui {
    fn from(language: Language) -> Ui {
        match language {
            Language::Kk => Ui::Kk,
            Language::Ru => Ui::Ru,
        }
    }
}

/// The labels of every page. `{n}`, `{a}`, `{tz}` and `{d}` are filled in by the page.
pub(crate) struct Text {
    pub app_name: &'static str,
    pub app_subtitle: &'static str,
    pub nav_label: &'static str,
    pub dashboard: &'static str,
    pub operators: &'static str,
    pub prompts: &'static str,
    pub flow: &'static str,
    pub desk: &'static str,
    pub language: &'static str,
    pub logout: &'static str,
    pub signed_in_as: &'static str,

    pub login_title: &'static str,
    pub user_name: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub wrong_credentials: &'static str,
    pub too_many_attempts: &'static str,
    pub form_expired: &'static str,
    pub sign_in_busy: &'static str,
    pub signed_out: &'static str,

    pub range: &'static str,
    pub range_from: &'static str,
    pub range_to: &'static str,
    pub show: &'static str,
    pub last_7_days: &'static str,
    pub last_30_days: &'static str,
    pub last_year: &'static str,
    pub range_not_a_date: &'static str,
    pub range_reversed: &'static str,
    pub range_too_long: &'static str,
    pub synthetic_note: &'static str,
    pub no_calls: &'static str,
    pub no_data: &'static str,

    pub calls: &'static str,
    pub emergency_transfers: &'static str,
    pub operator_transfers: &'static str,
    pub abandoned: &'static str,
    pub avg_ivr_time: &'static str,
    pub seconds: &'static str,

    pub calls_per_day: &'static str,
    pub calls_per_week: &'static str,
    pub calls_per_month: &'static str,
    pub by_language: &'static str,
    pub by_outcome: &'static str,
    pub topics_heard: &'static str,
    pub heatmap_title: &'static str,
    pub hours_in: &'static str,
    pub fewer: &'static str,
    pub more: &'static str,
    pub weekdays: [&'static str; 7],
    pub hour: &'static str,
    pub emergency_results: &'static str,
    pub operator_work: &'static str,
    pub answered: &'static str,
    pub avg_time_to_answer: &'static str,
    pub funnel_title: &'static str,
    pub funnel_note: &'static str,
    pub queue_title: &'static str,
    pub queue_language: &'static str,
    pub queue_waited: &'static str,
    pub queue_answered: &'static str,
    pub queue_overflowed: &'static str,
    pub queue_left: &'static str,
    pub queue_abandoned: &'static str,
    pub queue_avg_wait: &'static str,
    pub queue_longest_wait: &'static str,
    pub queue_avg_position: &'static str,
    pub queue_overflow_note: &'static str,
    pub queue_nobody: &'static str,
    pub queued_over_time: &'static str,
    pub answered_by_operator: &'static str,

    pub numbers_as_table: &'static str,
    pub col_name: &'static str,
    pub col_count: &'static str,
    pub col_share: &'static str,
    pub col_period: &'static str,

    pub lang_kk: &'static str,
    pub lang_ru: &'static str,
    pub lang_none: &'static str,
    pub lang_both: &'static str,
    pub outcome_self_service: &'static str,
    pub outcome_operator: &'static str,
    pub outcome_emergency: &'static str,
    pub outcome_abandoned: &'static str,
    pub outcome_failed_transfer: &'static str,
    /// The guidance topics of the bundled flow (`topic = …` in flows/hotline.toml).
    pub topic_definition: &'static str,
    pub topic_safety_plan: &'static str,
    pub topic_evidence: &'static str,
    pub topic_police: &'static str,
    pub topic_rights: &'static str,
    pub dial_completed: &'static str,
    pub dial_busy: &'static str,
    pub dial_no_answer: &'static str,
    pub dial_failed: &'static str,
    pub dial_canceled: &'static str,

    pub col_operator: &'static str,
    pub col_target: &'static str,
    pub col_languages: &'static str,
    pub col_available: &'static str,
    pub col_actions: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub add_operator: &'static str,
    pub edit: &'static str,
    pub save: &'static str,
    pub remove: &'static str,
    pub confirm_remove: &'static str,
    pub make_available: &'static str,
    pub make_unavailable: &'static str,
    pub no_operators: &'static str,
    pub target_hint: &'static str,
    pub roster_bad_name: &'static str,
    pub roster_bad_target: &'static str,
    /// A target a platform the line runs on cannot dial.
    pub roster_undialable: &'static str,
    pub roster_bad_languages: &'static str,
    pub roster_duplicate: &'static str,
    pub roster_unknown: &'static str,
    pub roster_unchanged: &'static str,

    pub description: &'static str,
    pub transcript: &'static str,
    pub duration: &'static str,
    pub status: &'static str,
    pub status_ok: &'static str,
    pub status_missing: &'static str,
    pub problem: &'static str,
    pub prompts_summary: &'static str,
    /// `{s}` synthetic placeholder recordings, `{b}` texts beyond the memo awaiting approval.
    pub prompts_provenance: &'static str,
    pub recording_kind: &'static str,
    pub kind_synthetic: &'static str,
    pub kind_studio: &'static str,
    pub text_source: &'static str,
    pub text_memo: &'static str,
    pub text_beyond_memo: &'static str,
    pub no_prompts: &'static str,

    pub every_menu: &'static str,
    /// What the repeat key does, among the keys that work on every menu.
    pub repeat_menu: &'static str,
    pub main_tree: &'static str,
    pub unreachable: &'static str,
    pub kind_menu: &'static str,
    pub kind_guidance: &'static str,
    pub kind_message: &'static str,
    pub kind_emergency: &'static str,
    pub kind_operator: &'static str,
    pub kind_hold: &'static str,
    pub kind_hangup: &'static str,
    pub via_next: &'static str,
    pub via_failure: &'static str,
    pub via_exhausted: &'static str,
    pub via_complete: &'static str,
    pub topic: &'static str,
    pub plays: &'static str,
    pub rotates: &'static str,
    pub shown_above: &'static str,
}

impl Text {
    /// The name of a caller language code as stored in the statistics (`kk`, `ru`, `none`).
    pub fn language_name<'a>(&self, code: &'a str) -> &'a str {
        match code {
            "kk" => self.lang_kk,
            "ru" => self.lang_ru,
            "none" => self.lang_none,
            "both" => self.lang_both,
            other => other,
        }
    }

    /// The name of a call outcome as stored in the statistics; unknown ones as they are.
    pub fn outcome_name<'a>(&self, key: &'a str) -> &'a str {
        match key {
            "self_service" => self.outcome_self_service,
            "operator" => self.outcome_operator,
            "emergency" => self.outcome_emergency,
            "abandoned" => self.outcome_abandoned,
            "failed_transfer" => self.outcome_failed_transfer,
            other => other,
        }
    }

    /// The name of a guidance topic; a topic of another flow keeps its key.
    pub fn topic_name<'a>(&self, key: &'a str) -> &'a str {
        match key {
            "definition" => self.topic_definition,
            "safety_plan" => self.topic_safety_plan,
            "evidence" => self.topic_evidence,
            "police" => self.topic_police,
            "rights" => self.topic_rights,
            other => other,
        }
    }

    /// The name of a provider's dial status (`completed`, `no-answer`, ...).
    pub fn dial_name<'a>(&self, key: &'a str) -> &'a str {
        match key {
            "completed" => self.dial_completed,
            "busy" => self.dial_busy,
            "no-answer" => self.dial_no_answer,
            "failed" => self.dial_failed,
            "canceled" => self.dial_canceled,
            other => other,
        }
    }
}
