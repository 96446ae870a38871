//! Every word of the desk, in Kazakh and Russian: one struct, one `const` per language, so a
//! word added in one and forgotten in the other is a compile error (as the admin pages'
//! `views/text`). The frame's words (the menu, the language switch) are the admin pages'.
//!
//! The states are named with verbs or nouns that do not change with the operator's gender
//! in Russian ("Принимает звонки", not "Свободен").

use crate::admin::views::Ui;
use crate::operators::{AwayReason, State};

/// The desk's words in one language. `{n}` is filled in by the page.
pub(crate) struct Words {
    pub my_state: &'static str,
    pub available: &'static str,
    pub on_call: &'static str,
    pub wrap_up: &'static str,
    pub away: &'static str,
    /// `{n}`: seconds.
    pub wrap_up_left: &'static str,
    pub away_by_operator: &'static str,
    pub away_by_administrator: &'static str,
    /// `{n}`: IVR_AWAY_AFTER_UNANSWERED.
    pub away_unanswered: &'static str,
    pub make_available: &'static str,
    pub end_wrap_up: &'static str,
    pub make_away: &'static str,
    pub not_linked: &'static str,
    pub not_on_roster: &'static str,
    pub not_saved: &'static str,
    pub line_now: &'static str,
    pub queue: &'static str,
    pub waiting: &'static str,
    pub ringing: &'static str,
    pub longest_wait: &'static str,
    pub operators: &'static str,
    pub operator: &'static str,
    pub state: &'static str,
    pub no_operators: &'static str,
    pub database_unreachable: &'static str,
    pub not_read_yet: &'static str,
    pub live: &'static str,
    pub reconnecting: &'static str,
    pub without_script: &'static str,
    /// `{m}` minutes and `{s}` seconds of waiting.
    pub minutes_seconds: &'static str,
    /// `{s}` seconds of waiting.
    pub seconds: &'static str,
}

const KK: Words = Words {
    my_state: "Менің күйім",
    available: "Қоңырау қабылдайды",
    on_call: "Сөйлесіп жатыр",
    wrap_up: "Қоңыраудан кейінгі үзіліс",
    away: "Орнында жоқ",
    wrap_up_left: "{n} секунд қалды",
    away_by_operator: "Мұны өзіңіз белгіледіңіз.",
    away_by_administrator: "Мұны әкімші белгіледі.",
    away_unanswered: "Қатарынан {n} қоңырауға жауап берілмегендіктен желі өзі белгіледі.",
    make_available: "Қоңырау қабылдау",
    end_wrap_up: "Үзілісті аяқтау",
    make_away: "Орнымда жоқпын",
    not_linked: "Сіздің тіркелгіңіз операторлар тізіміндегі жазбаға байланбаған: өзгертетін күй жоқ.",
    not_on_roster: "Сіз операторлар тізімінде жоқсыз: әкімшіге хабарласыңыз.",
    not_saved: "Өзгеріс сақталмады: дерекқор жауап бермейді. Сәлден кейін қайталап көріңіз.",
    line_now: "Желі қазір",
    queue: "Кезек",
    waiting: "Күтіп тұр",
    ringing: "Қоңырау соғылуда",
    longest_wait: "Ең ұзақ күту",
    operators: "Операторлар",
    operator: "Оператор",
    state: "Күйі",
    no_operators: "Тізімде оператор жоқ.",
    database_unreachable: "Дерекқор жауап бермейді. Желі жұмыс істеп тұр: операторларға жадтағы тізім бойынша қоңырау шалынады. Кезектегілер саны белгісіз, күйді өзгерту қазір сақталмайды.",
    not_read_yet: "Желі туралы деректер әлі алынған жоқ.",
    live: "Тікелей жаңартылады",
    reconnecting: "Байланыс үзілді, қайта қосылуда…",
    without_script: "Жаңарту үшін бетті қайта жүктеңіз.",
    minutes_seconds: "{m} мин {s} сек",
    seconds: "{s} сек",
};

const RU: Words = Words {
    my_state: "Моё состояние",
    available: "Принимает звонки",
    on_call: "Разговаривает",
    wrap_up: "Пауза после звонка",
    away: "Нет на месте",
    wrap_up_left: "осталось {n} с",
    away_by_operator: "Так отметили вы сами.",
    away_by_administrator: "Так отметил администратор.",
    away_unanswered: "Так отметила линия: {n} вызова подряд остались без ответа.",
    make_available: "Принимать звонки",
    end_wrap_up: "Закончить паузу",
    make_away: "Отойти",
    not_linked: "Ваша учётная запись не связана с оператором из списка: менять нечего.",
    not_on_roster: "Вас нет в списке операторов: обратитесь к администратору.",
    not_saved: "Изменение не сохранено: база данных не отвечает. Попробуйте ещё раз чуть позже.",
    line_now: "Линия сейчас",
    queue: "Очередь",
    waiting: "Ожидают",
    ringing: "Идёт вызов",
    longest_wait: "Дольше всех ждёт",
    operators: "Операторы",
    operator: "Оператор",
    state: "Состояние",
    no_operators: "В списке нет операторов.",
    database_unreachable: "База данных не отвечает. Линия работает: операторам звонят по списку из памяти. Число ожидающих неизвестно, изменение состояния сейчас не сохранится.",
    not_read_yet: "Данные о линии ещё не получены.",
    live: "Обновляется в реальном времени",
    reconnecting: "Связь прервалась, переподключение…",
    without_script: "Чтобы обновить данные, перезагрузите страницу.",
    minutes_seconds: "{m} мин {s} с",
    seconds: "{s} с",
};

impl Words {
    /// The desk's words in `ui`.
    pub fn of(ui: Ui) -> &'static Words {
        match ui {
            Ui::Kk => &KK,
            Ui::Ru => &RU,
        }
    }

    /// The name of a state.
    pub fn state(&self, state: State) -> &'static str {
        match state {
            State::Available => self.available,
            State::OnCall => self.on_call,
            State::WrapUp => self.wrap_up,
            State::Away => self.away,
        }
    }

    /// Why someone is away, `away_after` being the rings in a row that make them so.
    pub fn away_reason(&self, reason: AwayReason, away_after: u32) -> String {
        match reason {
            AwayReason::Operator => self.away_by_operator.to_owned(),
            AwayReason::Administrator => self.away_by_administrator.to_owned(),
            AwayReason::UnansweredRings => self.away_unanswered.replace("{n}", &away_after.to_string()),
        }
    }

    /// A wait of `seconds`, as `1 мин 05 с` or `42 с`.
    pub fn wait(&self, seconds: u64) -> String {
        if seconds < 60 {
            return self.seconds.replace("{s}", &seconds.to_string());
        }
        self.minutes_seconds.replace("{m}", &(seconds / 60).to_string()).replace("{s}", &format!("{:02}", seconds % 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_minutes_and_seconds() {
        let ru = Words::of(Ui::Ru);
        assert_eq!(ru.wait(42), "42 с");
        assert_eq!(ru.wait(65), "1 мин 05 с");
        assert_eq!(Words::of(Ui::Kk).wait(600), "10 мин 00 сек");
    }

    #[test]
    fn the_line_says_how_many_rings_made_someone_away() {
        assert!(Words::of(Ui::Ru).away_reason(AwayReason::UnansweredRings, 2).contains("2 вызова подряд"));
        assert!(Words::of(Ui::Kk).away_reason(AwayReason::UnansweredRings, 2).contains("Қатарынан 2"));
    }
}
