//! The dashboard page: its numbers, charts, empty state and range picker.

use super::*;

fn dashboard(ui: Ui, view: &DashboardView) -> String {
    dashboard_page(&page(ui), view)
}

/// The markup of the chart with `id`, up to the end of its figure.
fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\" aria-labelledby")).unwrap_or_else(|| panic!("no chart `{id}`"));
    let rest = &html[start..];
    &rest[..rest.find("</figure>").unwrap()]
}

#[test]
fn totals_and_charts_are_labelled_in_kazakh_and_russian() {
    let kk = dashboard(Ui::Kk, &busy_dashboard());
    for label in [
        "Қоңыраулар",
        "Полицияға жалғанды",
        "Операторға жалғанды",
        "Тыңдап болмай тұтқаны қойды",
        "Мәзірдегі орташа уақыт",
        "Күн сайынғы қоңыраулар",
        "Тіл бойынша",
        "Нәтижесі бойынша",
        "Тыңдалған жадынамалар",
        "Апта күндері мен сағаттар бойынша қоңыраулар",
        "Полицияға жалғау нәтижелері",
        "Операторлардың жауабы",
        "Қоңырау шалушылар тұтқаны қай жерде қояды",
        "Қазақ тілі",
        "Тек жадынама тыңдады",
        "Соңғы 7 күн",
    ] {
        assert!(kk.contains(label), "kk: `{label}`");
    }
    let ru = dashboard(Ui::Ru, &busy_dashboard());
    for label in [
        "Звонки",
        "Переводы в полицию",
        "Переводы на оператора",
        "Положили трубку, не дослушав",
        "Среднее время в меню",
        "Звонки по дням",
        "По языку",
        "По исходу",
        "Прослушанные памятки",
        "Звонки по дням недели и часам",
        "Результаты переводов в полицию",
        "Ответы операторов",
        "Где звонящие кладут трубку",
        "Казахский",
        "Только прослушали памятку",
        "Последние 30 дней",
    ] {
        assert!(ru.contains(label), "ru: `{label}`");
    }
}

#[test]
fn totals_show_numbers_shares_and_averages() {
    let html = dashboard(Ui::Ru, &busy_dashboard());
    assert!(html.contains("<span class=\"card-value\">42</span>"));
    assert!(html.contains("<span class=\"card-value\">3</span><span class=\"card-label\">Переводы в полицию</span><span class=\"card-share\">7,1\u{a0}%</span>"));
    assert!(html.contains("74,3 сек"), "average IVR time with a decimal comma");
    assert!(html.contains("8 / 10 <small>(80\u{a0}%)</small>"), "operator answer rate");
    assert!(html.contains("12,5 сек"), "average time to answer");
    assert!(html.contains("<meter min=\"0\" max=\"10\" value=\"8\""));
    assert!(!html.contains("class=\"warning\""), "no demo data, no warning");
}

#[test]
fn each_chart_has_one_mark_per_data_point_and_an_accessible_name() {
    let view = busy_dashboard();
    let html = dashboard(Ui::Kk, &view);
    assert_eq!(figure(&html, "per-day").matches("class=\"column\"").count(), view.days.len());
    assert_eq!(figure(&html, "hours").matches("class=\"cell\"").count(), 168);
    assert_eq!(figure(&html, "languages").matches("<rect").count(), view.languages.len());
    assert_eq!(figure(&html, "outcomes").matches("<rect").count(), view.outcomes.len());
    assert_eq!(figure(&html, "topics").matches("<rect").count(), view.topics.len());
    assert!(figure(&html, "topics").contains("Қауіпсіздік жоспары"), "topics by name, not by key");
    assert!(figure(&dashboard(Ui::Ru, &view), "topics").contains("Закон и ваши права"));
    assert_eq!(figure(&html, "funnel").matches("<rect").count(), small_flow().nodes.len());
    for id in ["per-day", "hours"] {
        let chart = figure(&html, id);
        assert!(chart.contains(&format!("role=\"img\" aria-labelledby=\"{id}-title\"")), "{id}");
        assert!(chart.contains(&format!("<title id=\"{id}-title\">")), "{id}");
        assert!(chart.contains("<details>"), "{id}: numbers as a table");
    }
    for id in ["languages", "outcomes", "topics", "emergency", "funnel"] {
        let chart = figure(&html, id);
        assert!(chart.contains(&format!("aria-labelledby=\"{id}-title\"")), "{id}");
        assert!(chart.contains("<details>") && chart.contains("<table>"), "{id}: numbers as a table");
    }
}

#[test]
fn the_largest_value_sets_the_scale() {
    let html = dashboard(Ui::Kk, &busy_dashboard());
    let languages = figure(&html, "languages");
    assert!(languages.contains("width=\"100\""), "kk, the largest, spans the track");
    assert!(languages.contains("width=\"60\""), "ru: 15 of 25");
    assert!(languages.contains("width=\"8\""), "none: 2 of 25");
    let order = ["Қазақ тілі", "Орыс тілі", "Тіл таңдалмаған"].map(|l| languages.find(l).unwrap());
    assert!(order.windows(2).all(|w| w[0] < w[1]), "kk, ru, then no language, whatever the key order");
    let per_day = figure(&html, "per-day");
    assert!(per_day.contains(">10</text>"), "the axis tops out at 10 for a busiest day of 10");
}

#[test]
fn the_funnel_follows_the_flow_not_the_counts() {
    let view = busy_dashboard();
    let names: Vec<&str> = view.hangups.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(names, ["language", "main", "rights", "goodbye", "police", "operator", "hold"]);
    assert_eq!(view.hangups.iter().map(|c| c.value).collect::<Vec<_>>(), [5, 20, 0, 17, 0, 0, 0]);
    let html = dashboard(Ui::Ru, &view);
    let funnel = figure(&html, "funnel");
    let positions: Vec<usize> = names.iter().map(|n| funnel.find(&format!(">{n}</span>")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

#[test]
fn nodes_that_left_the_flow_come_after_it() {
    let hangups = BTreeMap::from([("old_menu".to_owned(), 4), ("main".to_owned(), 1)]);
    let order: Vec<String> = in_flow_order(&small_flow(), &hangups).into_iter().map(|c| c.key).collect();
    assert_eq!(order.last().map(String::as_str), Some("old_menu"));
    assert_eq!(order.len(), small_flow().nodes.len() + 1);
}

#[test]
fn a_range_without_calls_says_so_instead_of_drawing() {
    for ui in Ui::ALL {
        let html = dashboard(ui, &empty_dashboard());
        assert!(html.contains(&format!("<p class=\"empty big\" role=\"status\">{}</p>", ui.text().no_calls)));
        assert!(!html.contains("<svg class=\"plot"), "no chart for no calls");
        assert!(!html.contains("class=\"cell\""));
        assert!(html.contains("type=\"date\" name=\"from\" value=\"2026-03-01\""), "the range can still be changed");
    }
    assert!(!dashboard(Ui::Kk, &busy_dashboard()).contains("class=\"empty big\""));
}

#[test]
fn a_single_day_and_a_leap_year_both_draw() {
    let mut view = busy_dashboard();
    view.days = vec![DayCount { day: day(3, 1), calls: 42 }];
    let html = dashboard(Ui::Kk, &view);
    assert_eq!(figure(&html, "per-day").matches("class=\"column\"").count(), 1);
    view.days = NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .iter_days()
        .take(366)
        .map(|day| DayCount { day, calls: 1 })
        .collect();
    let html = dashboard(Ui::Ru, &view);
    let chart = figure(&html, "per-day");
    assert!(chart.contains("Звонки по неделям"));
    assert_eq!(chart.matches("class=\"column\"").count(), 53);
}

#[test]
fn presets_cover_the_last_7_30_and_365_days() {
    let html = dashboard(Ui::Kk, &busy_dashboard());
    assert!(html.contains("href=\"/admin?from=2026-03-01&#38;to=2026-03-07\" aria-current=\"true\">Соңғы 7 күн"));
    assert!(html.contains("href=\"/admin?from=2026-02-06&#38;to=2026-03-07\">Соңғы 30 күн"));
    assert!(html.contains("href=\"/admin?from=2025-03-08&#38;to=2026-03-07\">Соңғы бір жыл"));
    assert!(html.contains("<form class=\"range\" method=\"get\" action=\"/admin\">"));
    assert!(html.contains("<input type=\"date\" name=\"to\" value=\"2026-03-07\" max=\"2026-03-07\""));
}

#[test]
fn a_refused_range_and_demo_data_are_announced() {
    let mut view = busy_dashboard();
    view.range_problem = Some(RangeProblem::Reversed);
    view.totals.synthetic_calls = 40;
    let html = dashboard(Ui::Ru, &view);
    assert!(html.contains("<p class=\"error\" role=\"alert\">Начальная дата позже конечной.</p>"));
    assert!(html.contains("Из них 40 — тестовые данные"));
    let html = dashboard(Ui::Kk, &view);
    assert!(html.contains("Басталу күні аяқталу күнінен кейін тұр."));
}

#[test]
fn the_queue_panel_shows_each_language_and_each_operators_answers() {
    let kk = dashboard(Ui::Kk, &busy_dashboard());
    for text in ["Операторлар кезегі", "Күтіп тұрып тұтқаны қойды", "41,5", "95", "Айгерім", "Әр оператор қабылдаған"]
    {
        assert!(kk.contains(text), "kk: `{text}`");
    }
    assert!(kk.contains("id=\"queued-per-day\"") && kk.contains("id=\"answered-by-operator\""), "the two charts");
    let ru = dashboard(Ui::Ru, &busy_dashboard());
    for text in ["Очередь к операторам", "Дождались ответа", "4 (66,7", "1 звонков после ожидания", "Ольга"]
    {
        assert!(ru.contains(text), "ru: `{text}`");
    }
    let quiet = DashboardView { queue: Vec::new(), answered_by_operator: Vec::new(), ..busy_dashboard() };
    let page = dashboard(Ui::Ru, &quiet);
    assert!(page.contains("В очереди никто не ждал.") && !page.contains("id=\"answered-by-operator\""), "{page}");
}
