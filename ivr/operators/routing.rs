//! Who to ring for a caller: every available operator who speaks their language, at once;
//! if none does, or the caller never chose a language (a silent caller at the language
//! choice), every available operator; if nobody is available, the switchboard; and if there
//! is none, nobody (the caller hears the fallback, never an empty `<Dial>`).
//!
//! A caller who chose no language is never taken for a Kazakh speaker: nobody said so.
//!
//! "Available" is the operator's state ([`State`](super::State)): never someone on a call,
//! in wrap-up or away. When the snapshot's states are stale (the database did not answer
//! at the last reload), every operator whose roster switch is on is rung, as before
//! operator states: a caller is put through to someone rather than wait on the database.

use crate::call_edge::DialTarget;
use crate::flow::Language;

use super::Roster;

/// Twilio rings at most ten numbers at once; the first to answer takes the call.
pub const MAX_RUNG: usize = 10;

/// One party to ring, and the language they hear the whisper in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring<'a> {
    /// Where to ring.
    pub target: &'a DialTarget,
    /// The roster entry rung; `None` for the switchboard.
    pub operator: Option<i64>,
    /// The language of their whisper.
    pub whisper: Language,
}

/// Which rule chose who is rung, for the statistics (never who was rung).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Available operators who speak the caller's language.
    Language,
    /// Nobody available speaks it: every available operator.
    AnyLanguage,
    /// The caller chose no language: every available operator, whatever they speak.
    LanguageNotChosen,
    /// Nobody on the roster is available: the switchboard.
    Switchboard,
    /// Nobody at all: the caller hears that operators are busy.
    Nobody,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 5] =
        [Route::Language, Route::AnyLanguage, Route::LanguageNotChosen, Route::Switchboard, Route::Nobody];

    /// The route's name in the statistics and in the metrics' `route` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Language => "language",
            Route::AnyLanguage => "any_language",
            Route::LanguageNotChosen => "language_not_chosen",
            Route::Switchboard => "switchboard",
            Route::Nobody => "nobody",
        }
    }
}

impl Roster {
    /// Who to ring for a caller of `caller`'s language (see [`Roster::route_for`]).
    pub fn ring_for(&self, caller: Option<Language>, default: Language) -> Vec<Ring<'_>> {
        self.route_for(caller, default).1
    }

    /// Who to ring for a caller of `caller`'s language (`None`: not chosen), and by which
    /// rule. `default` is the whisper's language for a bilingual operator or the switchboard
    /// when the caller chose none.
    pub fn route_for(&self, caller: Option<Language>, default: Language) -> (Route, Vec<Ring<'_>>) {
        let available = || self.operators.iter().filter(|o| o.available && (self.states_stale || o.state.rung()));
        let Some(caller) = caller else {
            let everyone: Vec<Ring<'_>> = available()
                .map(|o| Ring { target: &o.target, operator: Some(o.id), whisper: o.languages.own(default) })
                .take(MAX_RUNG)
                .collect();
            return match (everyone.is_empty(), &self.switchboard) {
                (false, _) => (Route::LanguageNotChosen, everyone),
                (true, Some(target)) => (Route::Switchboard, vec![Ring { target, operator: None, whisper: default }]),
                (true, None) => (Route::Nobody, Vec::new()),
            };
        };
        let same_language: Vec<Ring<'_>> = available()
            .filter(|o| o.languages.speaks(caller))
            .map(|o| Ring { target: &o.target, operator: Some(o.id), whisper: caller })
            .take(MAX_RUNG)
            .collect();
        if !same_language.is_empty() {
            return (Route::Language, same_language);
        }
        let anyone: Vec<Ring<'_>> = available()
            .map(|o| Ring { target: &o.target, operator: Some(o.id), whisper: o.languages.own(caller) })
            .take(MAX_RUNG)
            .collect();
        if !anyone.is_empty() {
            return (Route::AnyLanguage, anyone);
        }
        match &self.switchboard {
            Some(target) => (Route::Switchboard, vec![Ring { target, operator: None, whisper: caller }]),
            None => (Route::Nobody, Vec::new()),
        }
    }
}

impl Roster {
    /// Who may take a caller of `caller`'s language (`None`: not chosen) from the operators'
    /// queue now, and by which rule: the available operators who speak it (everyone, for a
    /// caller who chose none), or, once the caller has waited the language's longest wait
    /// (`overflow`), every available operator. Never the switchboard, and not cut at
    /// [`MAX_RUNG`]: the queue chooses among them.
    pub fn queue_candidates(&self, caller: Option<Language>, overflow: bool) -> (Route, Vec<i64>) {
        let available = self.operators.iter().filter(|o| o.available && (self.states_stale || o.state.rung()));
        match caller {
            None => (Route::LanguageNotChosen, available.map(|o| o.id).collect()),
            Some(_) if overflow => (Route::AnyLanguage, available.map(|o| o.id).collect()),
            Some(language) => {
                (Route::Language, available.filter(|o| o.languages.speaks(language)).map(|o| o.id).collect())
            }
        }
    }

    /// Whether anyone who may take a caller of `caller`'s language is at the desk (available,
    /// on a call or in wrap-up: not away), so that waiting in the queue can end with them.
    pub fn at_desk_for(&self, caller: Option<Language>) -> bool {
        self.operators.iter().any(|o| o.available && caller.is_none_or(|language| o.languages.speaks(language)))
    }

    /// The ring of roster operator `id` for a caller of `caller`'s language: where, and the
    /// whisper's language (the caller's when they speak it, else their own; `default` for a
    /// caller who chose none). `None` when `id` is no longer on the roster.
    pub fn ring_of(&self, id: i64, caller: Option<Language>, default: Language) -> Option<Ring<'_>> {
        let operator = self.operators.iter().find(|o| o.id == id)?;
        let whisper = operator.languages.own(caller.unwrap_or(default));
        Some(Ring { target: &operator.target, operator: Some(id), whisper })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::{Languages, Operator, State};

    fn operator(id: i64, languages: Languages, available: bool) -> Operator {
        let target = DialTarget::parse(&format!("+7717000{id:04}")).unwrap();
        let state = if available { State::Available } else { State::Away };
        Operator { id, name: format!("operator {id}"), target, languages, available, state }
    }

    fn rung(roster: &Roster, caller: Language) -> Vec<(String, Language)> {
        roster
            .ring_for(Some(caller), Language::Kk)
            .into_iter()
            .map(|r| (r.target.as_str().to_owned(), r.whisper))
            .collect()
    }

    #[test]
    fn rings_available_operators_who_speak_the_callers_language() {
        let roster = Roster {
            operators: vec![
                operator(1, Languages::Kk, true),
                operator(2, Languages::Ru, true),
                operator(3, Languages::Both, true),
                operator(4, Languages::Kk, false),
            ],
            switchboard: None,
            states_stale: false,
        };
        let numbers = |caller| rung(&roster, caller).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(numbers(Language::Kk), ["+77170000001", "+77170000003"]);
        assert_eq!(numbers(Language::Ru), ["+77170000002", "+77170000003"]);
    }

    #[test]
    fn falls_back_to_any_language_with_the_whisper_in_the_operators_own() {
        let roster = Roster {
            operators: vec![operator(1, Languages::Kk, true), operator(2, Languages::Ru, false)],
            switchboard: None,
            states_stale: false,
        };
        assert_eq!(rung(&roster, Language::Ru), [("+77170000001".to_owned(), Language::Kk)]);
    }

    #[test]
    fn nobody_available_rings_the_switchboard_or_nobody() {
        let mut roster =
            Roster { operators: vec![operator(1, Languages::Both, false)], switchboard: None, states_stale: false };
        assert!(roster.ring_for(Some(Language::Kk), Language::Kk).is_empty());
        roster.switchboard = DialTarget::parse("+77170009999");
        assert_eq!(rung(&roster, Language::Kk), [("+77170009999".to_owned(), Language::Kk)]);
    }

    #[test]
    fn rings_at_most_ten_at_once() {
        let roster = Roster {
            operators: (0..15).map(|i| operator(i, Languages::Both, true)).collect(),
            switchboard: None,
            states_stale: false,
        };
        assert_eq!(roster.ring_for(Some(Language::Kk), Language::Kk).len(), MAX_RUNG);
        assert_eq!(roster.ring_for(None, Language::Kk).len(), MAX_RUNG);
    }

    #[test]
    fn a_caller_who_chose_no_language_rings_every_available_operator() {
        let roster = Roster {
            operators: vec![
                operator(1, Languages::Kk, true),
                operator(2, Languages::Ru, true),
                operator(3, Languages::Both, true),
                operator(4, Languages::Kk, false),
            ],
            switchboard: None,
            states_stale: false,
        };
        let (route, rings) = roster.route_for(None, Language::Kk);
        assert_eq!(route, Route::LanguageNotChosen);
        let rung: Vec<(&DialTarget, Language)> = rings.iter().map(|r| (r.target, r.whisper)).collect();
        let target = |i: usize| &roster.operators[i].target;
        assert_eq!(rung, [(target(0), Language::Kk), (target(1), Language::Ru), (target(2), Language::Kk)]);
    }

    #[test]
    fn never_rings_an_operator_on_a_call_in_wrap_up_or_away_unless_the_states_are_stale() {
        let with = |state| Operator { state, ..operator(2, Languages::Kk, true) };
        let mut roster = Roster {
            operators: vec![
                operator(1, Languages::Kk, true),
                with(State::OnCall),
                Operator { id: 3, ..with(State::WrapUp) },
                Operator { id: 4, available: false, ..with(State::Away) },
            ],
            switchboard: None,
            states_stale: false,
        };
        roster.operators[2].target = DialTarget::parse("+77170000003").unwrap();
        roster.operators[3].target = DialTarget::parse("+77170000004").unwrap();
        let numbers = |roster: &Roster| rung(roster, Language::Kk).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(numbers(&roster), ["+77170000001"]);
        let ids: Vec<Option<i64>> =
            roster.ring_for(Some(Language::Kk), Language::Kk).iter().map(|r| r.operator).collect();
        assert_eq!(ids, [Some(1)], "each ring names the roster entry rung");
        roster.states_stale = true;
        assert_eq!(numbers(&roster), ["+77170000001", "+77170000002", "+77170000003"], "away stays away");
    }

    #[test]
    fn a_webhook_line_leaves_out_whoever_is_rung_at_an_asterisk_dial_string() {
        let mut desk = operator(1, Languages::Kk, true);
        desk.target = DialTarget::parse("PJSIP/desk").unwrap();
        let roster = Roster {
            operators: vec![desk, operator(2, Languages::Kk, true)],
            switchboard: DialTarget::parse("PJSIP/switchboard"),
            states_stale: false,
        };
        let webhooks = Roster::without_dial_strings(std::sync::Arc::new(roster.clone()));
        assert_eq!(rung(&webhooks, Language::Kk), [("+77170000002".to_owned(), Language::Kk)]);
        assert_eq!(webhooks.switchboard, None, "a switchboard only Asterisk can dial is none");
        assert_eq!(rung(&roster, Language::Kk).len(), 2, "Asterisk rings both");
        let plain = std::sync::Arc::new(Roster {
            operators: vec![operator(3, Languages::Ru, true)],
            switchboard: None,
            states_stale: false,
        });
        assert!(std::sync::Arc::ptr_eq(&Roster::without_dial_strings(plain.clone()), &plain), "nothing to leave out");
    }
}
