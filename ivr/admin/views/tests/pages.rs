//! The login, operators, prompts and flow pages.

use super::*;

fn login(ui: Ui, name: &str, message: Option<LoginMessage>) -> String {
    login_page(&LoginView { ui, csrf: CSRF.to_owned(), name: name.to_owned(), next: "/admin".to_owned(), message })
}

#[test]
fn login_asks_for_a_name_and_password_and_says_why_it_failed() {
    let html = login(Ui::Kk, "", None);
    assert!(html.contains("<form method=\"post\" action=\"/login\">"));
    assert!(html.contains("Пайдаланушы аты") && html.contains("Құпиясөз") && html.contains(">Кіру</button>"));
    assert!(!html.contains("class=\"error\""));
    assert!(!html.contains("<nav aria-label=\"Бөлімдер\">"), "no sections before signing in");
    let html = login(Ui::Kk, "aigerim", Some(LoginMessage::TooManyAttempts { minutes: 5 }));
    assert!(html.contains("role=\"alert\">Әрекет тым көп болды. 5 минуттан кейін қайталап көріңіз.</p>"));
    assert!(html.contains("name=\"name\" value=\"aigerim\""), "the name survives a failed attempt");
    assert!(!html.contains("name=\"password\" value"), "a password is never sent back");
    let html = login(Ui::Ru, "aigerim", Some(LoginMessage::WrongCredentials));
    assert!(html.contains("role=\"alert\">Неверное имя пользователя или пароль.</p>"));
    assert!(login(Ui::Ru, "", Some(LoginMessage::TooManyAttempts { minutes: 15 })).contains("через 15 мин."));
    assert!(login(Ui::Ru, "", Some(LoginMessage::SignedOut)).contains("class=\"notice\" role=\"status\">Вы вышли"));
    assert!(html.contains("href=\"/login?lang=kk\" lang=\"kk\""), "the language can be chosen before signing in");
}

#[test]
fn operators_can_be_listed_added_edited_removed_and_switched() {
    let html = operators_page(&page(Ui::Ru), &roster());
    for label in ["Имя", "Номер или SIP", "Языки", "Доступен", "Добавить оператора", "Изменить", "Да, удалить"]
    {
        assert!(html.contains(label), "ru: `{label}`");
    }
    assert!(html.contains("<th scope=\"row\">Айгерім</th>") && html.contains(">sip:olga@pbx.local</td>"));
    assert!(html.contains("<td data-label=\"Языки\">Оба языка</td>") && html.contains("<span class=\"yes\">Да</span>"));
    assert!(html.contains("action=\"/admin/operators/1/availability\""));
    assert!(html.contains("name=\"available\" value=\"false\"") && html.contains("Сделать недоступным"));
    assert!(html.contains("name=\"available\" value=\"true\"") && html.contains("Сделать доступным"));
    assert!(html.contains("action=\"/admin/operators/2\"") && html.contains("action=\"/admin/operators/2/remove\""));
    assert!(html.contains("<option value=\"ru\" selected>Русский</option>"), "the edit form starts from the row");
    assert!(html.contains("<form method=\"post\" action=\"/admin/operators\" class=\"stack\">"));
    let kk = operators_page(&page(Ui::Kk), &roster());
    for label in ["Аты", "Тілдері", "Қолжетімді", "Оператор қосу", "Өзгерту", "Иә, жою", "Екі тіл де"]
    {
        assert!(kk.contains(label), "kk: `{label}`");
    }
}

#[test]
fn an_operator_without_management_rights_sees_only_their_switch() {
    let mut view = roster();
    view.can_manage = false;
    view.operators[1].can_toggle = false;
    let html = operators_page(&page(Ui::Kk), &view);
    assert_eq!(post_forms(&html).len(), 2 + 1, "language, logout, one availability switch");
    assert!(html.contains("/admin/operators/1/availability") && !html.contains("/admin/operators/2/availability"));
    assert!(!html.contains("/remove") && !html.contains("Оператор қосу"));
}

#[test]
fn a_refused_change_is_explained_and_the_typed_values_kept() {
    let mut view = roster();
    view.error = Some("«+7 abc» — телефон нөмірі емес".to_owned());
    view.draft =
        OperatorDraft { name: "Дана".to_owned(), target: "+7 abc".to_owned(), languages: vec![Language::Kk] };
    let html = operators_page(&page(Ui::Kk), &view);
    assert!(html.contains("<p class=\"error\" role=\"alert\">«+7 abc» — телефон нөмірі емес</p>"));
    let add = &html[html.find("action=\"/admin/operators\" class=\"stack\"").unwrap()..];
    assert!(add.contains("value=\"Дана\"") && add.contains("value=\"+7 abc\""));
    assert!(add.contains("<option value=\"kk\" selected>Қазақ тілі</option>"));
    view.operators.clear();
    view.error = None;
    assert!(operators_page(&page(Ui::Ru), &view).contains("В списке пока нет операторов."));
}

#[test]
fn every_recording_plays_beside_its_transcript_and_status() {
    let html = prompts_page(&page(Ui::Kk), &library());
    assert!(html.contains("<audio controls preload=\"none\" src=\"/prompts/kk/main_menu.wav\"></audio>"));
    assert!(html.contains("<audio controls preload=\"none\" src=\"/prompts/ru/main_menu.wav\"></audio>"));
    assert!(html.contains("<audio controls preload=\"none\" src=\"/prompts/kk/goodbye.wav\"></audio>"));
    assert!(!html.contains("/prompts/ru/goodbye.wav"), "nothing to play for a missing recording");
    assert!(html.contains("lang=\"ru\">Чтобы узнать о своих правах, нажмите 1.</dd>"));
    assert!(html.contains("<dd>0:07</dd>"));
    assert!(html.contains("class=\"status-ok\">Дұрыс</dd>"));
    assert!(html.contains("class=\"status-bad\">Ақау: 8000 Hz expected</dd>"));
    assert!(html.contains("class=\"status-bad\">Жазба жоқ</dd>"));
    assert!(html.contains("Жазбалар саны: 4; ақаулылары: 2."));
    assert!(
        html.contains("Сипаттамасы") && html.contains("Мәтіні") && html.contains("Ұзақтығы") && html.contains("Күйі")
    );
    let ru = prompts_page(&page(Ui::Ru), &library());
    for label in ["Описание", "Текст", "Длительность", "Состояние", "В порядке", "Проблема: 8000 Hz", "Записи нет"]
    {
        assert!(ru.contains(label), "ru: `{label}`");
    }
}

#[test]
fn each_recording_says_whether_it_is_a_placeholder_and_whether_its_text_awaits_approval() {
    let mut view = library();
    view.prompts[0].recordings[1].kind = Some(RecordingKind::Studio);
    view.prompts[0].recordings[1].text = Some(TextSource::BeyondMemo);
    let ru = prompts_page(&page(Ui::Ru), &view);
    assert!(ru.contains("Синтетических записей-заглушек: 2; текстов ждут одобрения: 1."), "{ru}");
    assert!(ru.contains("class=\"status-bad recording-kind\">Синтетическая (заглушка)</dd>"));
    assert!(ru.contains("class=\"status-ok recording-kind\">Студийная</dd>"));
    assert!(ru.contains("class=\"status-bad text-source\">Сверх памятки: нужно одобрение</dd>"));
    assert!(ru.contains("class=\"status-ok text-source\">Памятка</dd>"));
    let kk = prompts_page(&page(Ui::Kk), &view);
    assert!(kk.contains("Синтетикалық уақытша жазбалар: 2; мақұлдауды күтетін мәтіндер: 1."));
}

#[test]
fn the_flow_view_mirrors_the_flow() {
    let view = FlowView::from_flow(&small_flow());
    let names: Vec<&str> = view.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["goodbye", "hold", "language", "main", "operator", "police", "rights"], "the flow's order");
    assert_eq!((view.start, view.emergency, view.operator), (2, 5, 4));
    assert_eq!((view.emergency_key, view.operator_key, view.repeat_key), ('9', '0', Some('*')));
    let choose = &view.nodes[2].links[1];
    assert_eq!(choose, &FlowLink { via: LinkVia::Key { key: '2', language: Some(Language::Ru) }, to: 3 });
    assert_eq!(view.nodes[6].kind, FlowNodeKind::Guidance { topic: "rights".to_owned() });
    assert_eq!(view.nodes[1].kind, FlowNodeKind::Hold { guidance: vec!["guidance_rights".to_owned()] });
    let met: Vec<&str> = view.call_order().into_iter().map(|i| view.nodes[i].name.as_str()).collect();
    assert_eq!(met, ["language", "main", "rights", "goodbye", "police", "operator", "hold"], "the order callers meet");
    let exits: Vec<LinkVia> = view.nodes[4].links.iter().map(|l| l.via).collect();
    assert_eq!(exits, [LinkVia::OnFailure, LinkVia::OnExhausted, LinkVia::OnComplete]);
}

#[test]
fn the_flow_is_a_tree_with_each_node_expanded_once_and_the_global_keys_shown_once() {
    let view = FlowView::from_flow(&small_flow());
    let html = flow_page(&page(Ui::Ru), &view);
    for i in 0..view.nodes.len() {
        assert_eq!(html.matches(&format!("id=\"node-{i}\"")).count(), 1, "node {i} expanded once");
    }
    assert_eq!(html.matches("<kbd>9</kbd>").count(), 1, "the emergency key, once");
    assert_eq!(html.matches("<kbd>0</kbd>").count(), 1, "the operator key, once");
    assert!(html.find("Ход звонка").unwrap() < html.find("Клавиши, которые работают в любом меню").unwrap());
    let global = &html[html.find("Клавиши, которые работают в любом меню").unwrap()..];
    assert!(global.contains("<kbd>9</kbd>") && global.contains("Перевод в полицию"));
    assert_eq!(html.matches("<kbd>*</kbd>").count(), 1, "the repeat key, once");
    assert!(global.contains("<kbd>*</kbd>") && global.contains("Повторить текущее меню"), "{global}");
    let kk = flow_page(&page(Ui::Kk), &view);
    assert!(kk.contains("<kbd>*</kbd>") && kk.contains("Осы мәзірді қайта тыңдау"), "{kk}");
    let words = html.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("<kbd>2</kbd> <span class=\"via\">Русский</span>"), "a key that chooses a language");
    assert!(html.contains("href=\"#node-3\""), "a node met again links back to where it is shown");
    let tree = &html[html.find("Ход звонка").unwrap()..html.find("Клавиши, которые работают в любом меню").unwrap()];
    assert!(tree.contains("id=\"node-6\"") && tree.contains("id=\"node-3\""), "the menus hang from the start");
    assert!(html.contains("Проигрывает: main_menu") && html.contains("По очереди: guidance_rights"));
    assert!(html.contains("если никто не ответил") && html.contains("после разговора"));
    assert!(!html.contains("Узлы, недостижимые от начала"), "every node of the test flow is reachable");
    let kk = flow_page(&page(Ui::Kk), &view);
    for label in ["Кез келген мәзірде жұмыс істейтін пернелер", "Қоңырау барысы", "Жадынама", "Операторға жалғау"]
    {
        assert!(kk.contains(label), "kk: `{label}`");
    }
}

#[test]
fn nodes_no_key_reaches_are_listed_apart() {
    let mut view = FlowView::from_flow(&small_flow());
    view.nodes.push(FlowNode {
        name: "orphan".to_owned(),
        kind: FlowNodeKind::Hangup,
        prompts: Vec::new(),
        links: Vec::new(),
    });
    let html = flow_page(&page(Ui::Kk), &view);
    let apart = &html[html.find("Басынан жетуге болмайтын түйіндер").expect("the section")..];
    assert!(apart.contains("orphan"));
}

#[test]
fn the_bundled_flow_draws_every_node_once() {
    let flow = Flow::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/flows/hotline.toml"))).unwrap();
    let html = flow_page(&page(Ui::Kk), &FlowView::from_flow(&flow));
    for (i, node) in flow.nodes.iter().enumerate() {
        assert_eq!(html.matches(&format!("id=\"node-{i}\"")).count(), 1, "{}", node.name);
    }
    assert_balanced("bundled flow", &html);
}
