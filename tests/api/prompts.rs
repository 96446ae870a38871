//! The prompt library as the provider and the operator meet it: recordings served from
//! memory with caching headers, only for known languages and keys; every prompt the bundled
//! flow plays present and valid in both languages; and `ivr prompts import`, which either
//! installs a telephone-format recording or changes nothing at all.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use ivr::flow::{Flow, Language, PromptKey};
use ivr::prompts::{ImportError, InputAudio, InputProblem, PromptLibrary, check_recording, import};
use reqwest::{StatusCode, header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, bundled_prompts, spawn_app};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn key(name: &str) -> PromptKey {
    PromptKey::parse(name).expect("valid prompt key")
}

async fn get(app: &TestApp, path: &str, if_none_match: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    request.send().await.expect("the server answers")
}

/// The status line for a request target sent exactly as written, `..` and all.
async fn raw_status_line(app: &TestApp, target: &str) -> String {
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connects");
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request sent");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("response read");
    String::from_utf8_lossy(&response).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_prompt_is_served_as_audio_wav_with_a_strong_etag_and_cache_control() {
    let app = spawn_app().await;
    let prompt = bundled_prompts().get(Language::Kk, &key("welcome")).expect("bundled prompt");
    let response = get(&app, "/prompts/kk/welcome.wav", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "audio/wav");
    assert_eq!(headers[header::ETAG], prompt.etag.as_str());
    assert!(prompt.etag.len() == 66 && prompt.etag.starts_with('"'), "a quoted SHA-256, not weak: {}", prompt.etag);
    let cache = headers[header::CACHE_CONTROL].to_str().expect("ASCII");
    assert!(cache.contains("public") && cache.contains("max-age="), "proxies may keep it: {cache}");
    assert_eq!(response.bytes().await.expect("body"), prompt.wav);
}

#[tokio::test]
async fn if_none_match_with_the_etag_gets_304_and_any_other_tag_gets_the_recording() {
    let app = spawn_app().await;
    let etag = &bundled_prompts().get(Language::Ru, &key("main_menu")).expect("bundled prompt").etag;
    for tags in [etag.clone(), format!("W/{etag}"), format!("\"0123\", {etag}"), "*".to_owned()] {
        let response = get(&app, "/prompts/ru/main_menu.wav", Some(&tags)).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "If-None-Match: {tags}");
        assert_eq!(response.headers()[header::ETAG], etag.as_str());
        assert!(response.headers().contains_key(header::CACHE_CONTROL));
        assert!(response.bytes().await.expect("body").is_empty());
    }
    let stale = get(&app, "/prompts/ru/main_menu.wav", Some("\"0123\"")).await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert!(!stale.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn unknown_languages_keys_and_paths_are_404() {
    let app = spawn_app().await;
    let paths = [
        "/prompts/en/welcome.wav",
        "/prompts/KK/welcome.wav",
        "/prompts/kk/no_such_prompt.wav",
        "/prompts/kk/Welcome.wav",
        "/prompts/kk/welcome",
        "/prompts/kk/welcome.txt",
        "/prompts/kk/welcome.wav.wav",
        "/prompts/kk/..%2Fru%2Fwelcome.wav",
        "/prompts/kk/..%2Fmanifest.toml",
        "/prompts/kk/..%2F..%2FCargo.toml",
        "/prompts/kk/%2E%2E%2F%2E%2E%2FCargo.toml",
    ];
    for path in paths {
        assert_eq!(get(&app, path, None).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for target in ["/prompts/kk/../manifest.toml", "/prompts/kk/../../Cargo.toml", "/prompts/../Cargo.toml"] {
        let status = raw_status_line(&app, target).await;
        assert!(status.starts_with("HTTP/1.1 404"), "{target}: {status}");
    }
}

#[tokio::test]
async fn every_prompt_the_bundled_flow_plays_is_served_and_valid_in_both_languages() {
    let flow = Flow::load(&root().join("flows/hotline.toml")).expect("bundled flow loads");
    let library = PromptLibrary::load(&root().join("prompts")).expect("bundled prompt library is valid");
    assert_eq!(flow.validate(&library), Vec::new());
    let keys = flow.prompt_keys();
    assert!(keys.len() > 10, "the flow plays its prompts: {keys:?}");
    let app = spawn_app().await;
    for key in keys {
        for language in Language::ALL {
            let response = get(&app, &format!("/prompts/{language}/{key}.wav"), None).await;
            assert_eq!(response.status(), StatusCode::OK, "{language}/{key}");
            let wav = response.bytes().await.expect("body");
            let duration = check_recording(&wav).unwrap_or_else(|problems| panic!("{language}/{key}: {problems:?}"));
            assert_eq!(Some(duration), library.get(language, key).map(|p| p.duration), "{language}/{key}");
        }
    }
}

/// A prompts folder with the real manifest and the real `welcome` in both languages.
fn small_library() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root().join("prompts/manifest.toml"), dir.path().join("manifest.toml")).expect("manifest copied");
    for language in ["kk", "ru"] {
        std::fs::create_dir(dir.path().join(language)).expect("language folder");
        for file in ["welcome.wav", "welcome.txt"] {
            let from = root().join("prompts").join(language).join(file);
            std::fs::copy(from, dir.path().join(language).join(file)).expect("prompt copied");
        }
    }
    dir
}

/// Every file under `dir` with its bytes, temporary files included.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("folder lists").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else {
            files.insert(path.clone(), std::fs::read(&path).expect("file reads"));
        }
    }
    files
}

fn wav<S: hound::Sample + Copy>(spec: hound::WavSpec, samples: &[S]) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("WAV header");
    samples.iter().for_each(|s| writer.write_sample(*s).expect("sample"));
    writer.finalize().expect("WAV finalised");
    bytes.into_inner()
}

fn pcm16(sample_rate: u32, channels: u16) -> hound::WavSpec {
    hound::WavSpec { channels, sample_rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int }
}

/// `seconds` of a tone at `amplitude` (of full scale) with `silence` seconds on either side.
fn tone(frequency: f64, amplitude: f64, rate: u32, seconds: f64, silence: f64) -> Vec<i16> {
    let at = |n: usize| n as f64 / f64::from(rate);
    let length = ((seconds + 2.0 * silence) * f64::from(rate)) as usize;
    (0..length)
        .map(|n| {
            if (silence..silence + seconds).contains(&at(n)) {
                amplitude * 32767.0 * (std::f64::consts::TAU * frequency * at(n)).sin()
            } else {
                0.0
            }
        })
        .map(|s| s as i16)
        .collect()
}

/// A studio export: 44.1 kHz stereo, a 1 s tone at -12 dBFS with 1 s of silence around it.
fn stereo_tone_44k() -> Vec<u8> {
    let mono = tone(440.0, 0.25, 44_100, 1.0, 1.0);
    wav(pcm16(44_100, 2), &mono.iter().flat_map(|s| [*s, *s]).collect::<Vec<_>>())
}

/// A FLAC at 48 kHz, mono: a 1 s tone with 0.5 s of silence around it.
fn flac_tone_48k() -> Vec<u8> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let samples: Vec<i32> = tone(1000.0, 0.3, 48_000, 1.0, 0.5).into_iter().map(i32::from).collect();
    let config = flacenc::config::Encoder::default().into_verified().expect("encoder configuration");
    let source = flacenc::source::MemSource::from_samples(&samples, 1, 16, 48_000);
    // 2 s is exactly 24 blocks of 4000: flacenc would record a short last block as the
    // minimum block size, and symphonia then takes the stream for a variable-block one.
    let stream = flacenc::encode_with_fixed_block_size(&config, source, 4000).expect("FLAC encodes");
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).expect("FLAC written");
    sink.as_slice().to_vec()
}

fn input_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("input written");
    path
}

#[test]
fn a_stereo_44_1_khz_recording_becomes_a_trimmed_8_khz_mono_prompt_at_minus_1_dbfs() {
    let (library, inputs) = (small_library(), tempfile::tempdir().expect("temp dir"));
    let before = snapshot(library.path());
    let imported = import(library.path(), "kk", "welcome", &input_file(inputs.path(), "take3.wav", &stereo_tone_44k()))
        .expect("imported");

    let expected =
        InputAudio { container: "WAV", sample_rate: 44_100, channels: 2, duration: std::time::Duration::from_secs(3) };
    assert_eq!(imported.input, expected);
    let target = library.path().join("kk/welcome.wav");
    assert_eq!(imported.wav, target);
    let bytes = std::fs::read(&target).expect("prompt written");
    let reader = hound::WavReader::new(Cursor::new(&bytes)).expect("a WAV");
    assert_eq!(reader.spec(), pcm16(8000, 1));
    let samples: Vec<i16> = reader.into_samples().collect::<Result<_, _>>().expect("samples");
    let duration = check_recording(&bytes).expect("passes every rule");
    assert!((duration.as_secs_f64() - 1.3).abs() < 0.02, "1 s of tone and 0.15 s at each end: {duration:?}");
    assert!((imported.trimmed.as_secs_f64() - 1.7).abs() < 0.02, "{:?}", imported.trimmed);
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    let peak_dbfs = 20.0 * (f64::from(peak) / 32767.0).log10();
    assert!((peak_dbfs + 1.0).abs() < 0.05, "peak at {peak_dbfs:.2} dBFS");
    let first_sound = samples.iter().position(|s| s.unsigned_abs() >= 328).unwrap_or(0);
    assert!(first_sound.abs_diff(1200) < 20, "0.15 s of lead-in, not {first_sound} samples");

    let mut changed = snapshot(library.path());
    assert_ne!(changed.remove(&target), before.get(&target).cloned());
    let manifest = library.path().join("manifest.toml");
    let marked = String::from_utf8(changed.remove(&manifest).expect("the manifest stays")).expect("UTF-8");
    let mut unchanged = before;
    unchanged.remove(&target);
    let was = String::from_utf8(unchanged.remove(&manifest).expect("a manifest")).expect("UTF-8");
    assert_eq!(
        changed, unchanged,
        "only the WAV and the manifest changed: the transcript stays, no temporary file is left"
    );
    assert!(imported.transcript_exists);
    let welcome = |text: &str| {
        let table = &text[text.find("[prompts.welcome]").expect("the welcome's table")..];
        table.lines().find(|l| l.starts_with("recording")).expect("its recording line").to_owned()
    };
    assert_eq!(welcome(&was), r#"recording = { kk = "synthetic", ru = "synthetic" }"#);
    assert_eq!(welcome(&marked), r#"recording = { kk = "studio", ru = "synthetic" }"#, "marked as a studio take");
    assert_eq!(marked.lines().count(), was.lines().count(), "comments and other keys kept");
    let said = imported.to_string();
    let expected =
        format!("marked it a studio recording in {}: synthesize.sh will not overwrite it", manifest.display());
    assert!(said.lines().any(|l| l == expected), "the import says it marked the take: {said}");
}

#[test]
fn a_flac_recording_is_imported() {
    let (library, inputs) = (small_library(), tempfile::tempdir().expect("temp dir"));
    let imported =
        import(library.path(), "ru", "welcome", &input_file(inputs.path(), "welcome.flac", &flac_tone_48k()))
            .expect("imported");
    assert_eq!((imported.input.container, imported.input.sample_rate, imported.input.channels), ("FLAC", 48_000, 1));
    let bytes = std::fs::read(library.path().join("ru/welcome.wav")).expect("prompt written");
    let duration = check_recording(&bytes).expect("passes every rule");
    assert!((duration.as_secs_f64() - 1.3).abs() < 0.02, "{duration:?}");
}

/// Whether an import failed for the reason a test expects.
type IsExpected = fn(&InputProblem) -> bool;

#[test]
fn bad_recordings_are_refused_and_leave_the_prompt_untouched() {
    let (library, inputs) = (small_library(), tempfile::tempdir().expect("temp dir"));
    let good = stereo_tone_44k();
    let cases: [(&str, Vec<u8>, IsExpected); 5] = [
        ("truncated.wav", good[..good.len() / 2].to_vec(), |p| matches!(p, InputProblem::Truncated { .. })),
        ("notes.wav", b"Record welcome again, slower.\n".to_vec(), |p| matches!(p, InputProblem::NotAudio(_))),
        ("empty.wav", Vec::new(), |p| matches!(p, InputProblem::Empty)),
        ("room_tone.wav", wav(pcm16(44_100, 1), &[0_i16; 88_200]), |p| matches!(p, InputProblem::Silent)),
        ("too_long.wav", wav(pcm16(8000, 1), &tone(440.0, 0.5, 8000, 181.0, 0.0)), |p| {
            matches!(p, InputProblem::Rejected(_))
        }),
    ];
    let before = snapshot(library.path());
    for (name, bytes, expected) in cases {
        let file = input_file(inputs.path(), name, &bytes);
        let error = import(library.path(), "kk", "welcome", &file).expect_err(name);
        assert!(matches!(&error, ImportError::Input { problem, .. } if expected(problem)), "{name}: {error:?}");
        let message = error.to_string();
        assert!(message.contains(name) && message.ends_with("the prompt was not changed"), "{message}");
        assert_eq!(snapshot(library.path()), before, "{name} changed the library");
    }
    let missing =
        import(library.path(), "kk", "welcome", &inputs.path().join("missing.wav")).expect_err("no such file");
    assert!(matches!(missing, ImportError::Read { .. }), "{missing:?}");
}

#[test]
fn unknown_keys_and_languages_are_refused() {
    let (library, inputs) = (small_library(), tempfile::tempdir().expect("temp dir"));
    let file = input_file(inputs.path(), "take.wav", &stereo_tone_44k());
    let before = snapshot(library.path());
    let language = import(library.path(), "en", "welcome", &file).expect_err("no English prompts");
    assert_eq!(language.to_string(), "unknown language `en`: use kk (Kazakh) or ru (Russian)");
    for key in ["welcom", "../kk/welcome", "Welcome", ""] {
        let error = import(library.path(), "kk", key, &file).expect_err(key);
        assert!(matches!(&error, ImportError::UnknownKey { key: k, .. } if k == key), "{key}: {error:?}");
    }
    assert_eq!(snapshot(library.path()), before);
}

fn ivr(args: &[&str], prompts: &Path) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ivr"))
        .args(args)
        .env_clear()
        .env("IVR_FLOW", root().join("flows/hotline.toml"))
        .env("IVR_PROMPTS", prompts)
        .output()
        .expect("ivr runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn ivr_prompts_import_says_what_it_did_and_the_library_still_checks() {
    let copy = tempfile::tempdir().expect("temp dir");
    for entry in snapshot(&root().join("prompts")) {
        let target = copy.path().join(entry.0.strip_prefix(root().join("prompts")).expect("inside prompts"));
        std::fs::create_dir_all(target.parent().expect("a folder")).expect("folder");
        std::fs::write(target, entry.1).expect("copied");
    }
    let inputs = tempfile::tempdir().expect("temp dir");
    let file = input_file(inputs.path(), "goodbye_take2.wav", &stereo_tone_44k());
    let file = file.to_str().expect("UTF-8 path");
    let (ok, stdout, stderr) = ivr(&["prompts", "import", "--lang", "ru", "--key", "goodbye", file], copy.path());
    assert!(ok, "{stdout}{stderr}");
    for said in
        ["WAV, 44100 Hz, 2 channel(s), 3.00 s", "ru/goodbye.wav: 8000 Hz mono 16-bit PCM, 1.30 s", "ru/goodbye.txt"]
    {
        assert!(stdout.contains(said), "{said} in: {stdout}");
    }
    let (ok, stdout, stderr) = ivr(&["check"], copy.path());
    assert!(ok, "{stdout}{stderr}");

    let imported = std::fs::read(copy.path().join("ru/goodbye.wav")).expect("prompt");
    let notes = input_file(inputs.path(), "notes.wav", b"not audio");
    let (ok, _, stderr) =
        ivr(&["prompts", "import", "--lang", "ru", "--key", "goodbye", notes.to_str().expect("UTF-8")], copy.path());
    assert!(!ok && stderr.contains("not a recording import can read"), "{stderr}");
    assert_eq!(std::fs::read(copy.path().join("ru/goodbye.wav")).expect("prompt"), imported);
}

/// The spoken script of `key` in `language`.
fn script(language: &str, key: &str) -> String {
    std::fs::read_to_string(root().join("prompts").join(language).join(format!("{key}.txt"))).expect("a script")
}

#[test]
fn every_key_reminder_names_the_emergency_and_the_operator_key_in_both_languages() {
    let flow = Flow::load(&root().join("flows/hotline.toml")).expect("bundled flow");
    for key in &flow.limits.key_reminders {
        let (kk, ru) = (script("kk", key.as_str()), script("ru", key.as_str()));
        assert!(kk.contains("тоғыз") && kk.contains("нөл"), "kk/{key} names 9 and 0: {kk}");
        assert!(ru.contains("девять") && ru.contains("ноль"), "ru/{key} names 9 and 0: {ru}");
    }
}

#[test]
fn the_scripts_follow_the_memo_and_read_well() {
    let all = |language: &str| {
        let dir = root().join("prompts").join(language);
        let mut texts = std::fs::read_dir(dir).expect("scripts").flatten().collect::<Vec<_>>();
        texts.retain(|e| e.path().extension().is_some_and(|x| x == "txt"));
        texts.iter().map(|e| std::fs::read_to_string(e.path()).expect("text")).collect::<Vec<_>>().join("\n")
    };
    let (kk, ru) = (all("kk"), all("ru"));
    for wrong in ["дробь", "напишите ему", "напишите преследователю", "родных", "вы ничего не выбрали", "я не услышала"]
    {
        assert!(!ru.contains(wrong), "the Russian scripts say `{wrong}`");
    }
    for right in [
        "115-1",
        "Например, сообщение «Прошу больше со мной не связываться»",
        "близких",
        "Извините, мы не услышали ваш выбор",
        "куда можно быстро уйти и укрыться",
        "прослушать советы о том, как",
    ] {
        assert!(ru.to_lowercase().contains(&right.to_lowercase()), "the Russian scripts lack `{right}`");
    }
    for wrong in ["Менмен", "қол сұқпаушылықты", "Өтінеміз"] {
        assert!(!kk.contains(wrong), "the Kazakh scripts say `{wrong}`");
    }
    assert!(kk.contains("Менімен") && kk.contains("жеке өміріне қол сұғылмайды"), "the memo's corrected forms");
    let definition = script("kk", "guidance_definition");
    assert!(!definition.lines().any(|l| l.starts_with("Ол ")), "a new sentence about stalking starts with «Бұл»");
    // The welcome (at most 8 s) says what 111 is in short; the memo's whole line is a part of
    // the guidance a caller chooses (the police topic's last), not a speech in the goodbye.
    let (welcome_kk, welcome_ru) = (script("kk", "welcome"), script("ru", "welcome"));
    assert!(welcome_kk.contains("Сенім телефоны 111 тегін, анонимді, тәулік бойы жұмыс істейді"), "{welcome_kk}");
    assert!(welcome_ru.contains("Телефон доверия 111 работает бесплатно, анонимно и круглосуточно"), "{welcome_ru}");
    let line = [
        ("kk", "отбасы, әйелдер мен балалар мәселелері бойынша бірыңғай мемлекеттік сенім телефоны"),
        ("ru", "единый государственный телефон доверия по вопросам семьи, женщин и детей"),
    ];
    for (language, words) in line {
        assert!(script(language, "guidance_police_2").contains(words), "{language}: the memo's line on 111");
        assert!(!script(language, "goodbye").contains(words), "{language}: the goodbye is short");
    }
}

#[test]
fn the_scripts_say_nothing_a_frightened_caller_could_misread() {
    // Issue 27: each line a script once said, and how it reads now.
    let never = [
        ("kk", "safety_notice", "қудалаушыныкін"),
        ("ru", "safety_notice", "Телефон и аккаунты могут отслеживать"),
        ("kk", "police_number", "бір, нөл, екі"),
        ("ru", "police_number", "один, ноль, два"),
        ("kk", "next_police", "Полиция туралы қайта тыңдау бір"),
        ("kk", "next_part", "Келесі бір, мәзір екі"),
        ("kk", "guidance_safety_plan_2", "аккаунттарды жабыңыз"),
        ("ru", "guidance_safety_plan_2", "Закройте аккаунты"),
        ("ru", "guidance_safety_plan_1", "напишите преследователю"),
        ("kk", "guidance_safety_plan_4", "хабарламаңыз"),
        ("kk", "guidance_rights_2", "сақталуға тиіс"),
        ("kk", "operators_busy", "қайта қоңырау нөл"),
        ("ru", "operators_busy", "позвонить снова ноль"),
        ("ru", "whisper_silent", "Молчание"),
        ("ru", "whisper_chose", "По запросу"),
        ("ru", "whisper_police_unreachable_silent", "молчание"),
        ("ru", "no_input", "я не услышала"),
    ];
    for (language, key, words) in never {
        assert!(!script(language, key).contains(words), "{language}/{key} still says «{words}»");
    }
    let says = [
        ("kk", "safety_notice", "111-ге қоңырауды тарихтан өшіріңіз"),
        ("kk", "safety_notice", "Қудалаушының қоңыраулары мен хабарламаларын сақтаңыз: олар – дәлел"),
        ("ru", "safety_notice", "Если за вашим телефоном могут следить, удалите звонок на 111"),
        ("kk", "police_number", "Тұтқаны қойып, 102 нөмірін өзіңіз де тере аласыз"),
        ("ru", "police_number", "положить трубку и сами набрать 102"),
        ("kk", "next_police", "Бұл кеңестерді қайта тыңдау – бір"),
        ("kk", "next_part", "Келесі бөлім – бір, мәзір – екі"),
        ("kk", "guidance_safety_plan_2", "аккаунттарыңызды бөгде адамдардан жасырыңыз"),
        ("ru", "guidance_safety_plan_2", "Скройте профили в социальных сетях от посторонних"),
        ("kk", "guidance_police_2", "полиция сізге бірегей нөмірі бар талон-хабарлама беруге міндетті"),
        ("kk", "guidance_safety_plan_4", "Бөгде адамдарға қайда жүргеніңізді айтпаңыз"),
        ("kk", "guidance_rights_2", "оның жауабын сөзсіз құрметтеу керек"),
        ("kk", "guidance_evidence_2", "мұны фотоға немесе видеоға түсіріңіз"),
        ("kk", "operators_busy", "қайта қосылу үшін – нөл"),
        ("ru", "operators_busy", "чтобы соединиться снова – ноль"),
        ("ru", "whisper_police_unreachable_silent", "Молчит, полиция не ответила"),
        ("kk", "whisper_police_unreachable_silent", "Үндемей тұр, полиция жауап бермеді"),
        ("ru", "whisper_silent", "Молчит, возможно, не может говорить"),
        ("kk", "choose_language", "басыңыз"),
        ("ru", "choose_language", "нажмите"),
        ("kk", "welcome", "басыңыз"),
        ("ru", "welcome", "нажмите"),
        ("kk", "operators_unavailable", "сізді операторға қоса алмадық"),
        ("kk", "hold_intro", "оператор қазір – нөл"),
        ("kk", "next_rights", "Заң мен құқықтар туралы"),
    ];
    for (language, key, words) in says {
        assert!(script(language, key).contains(words), "{language}/{key} does not say «{words}»");
    }
    // Advice on hold has no numbers from a list the caller never heard.
    let ordinals = ["Бірінші", "Екінші", "Үшінші", "Төртінші", "Алтыншы", "Третье", "Четвёртое", "Шестое"];
    for key in ["hold_safe_place", "hold_evidence"] {
        for language in ["kk", "ru"] {
            let text = script(language, key);
            assert!(!ordinals.iter().any(|o| text.contains(o)), "{language}/{key}: {text}");
        }
    }
}

#[test]
fn the_safety_notice_is_marked_as_going_beyond_the_memo() {
    let library = bundled_prompts();
    let notice = PromptKey::parse("safety_notice").expect("key");
    for language in Language::ALL {
        let prompt = library.get(language, &notice).expect("recorded");
        assert_eq!(prompt.text, ivr::prompts::TextSource::BeyondMemo, "{language}");
    }
    let menu = library.get(Language::Kk, &PromptKey::parse("main_menu").expect("key")).expect("recorded");
    assert_eq!(menu.text, ivr::prompts::TextSource::Memo);
    assert_eq!(menu.recording, ivr::prompts::RecordingKind::Synthetic);
    assert_eq!(library.provenance().beyond_memo, 2);
}

#[test]
fn links_out_of_the_library_and_oversized_files_are_refused_and_links_inside_it_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let library = dir.path().join("prompts");
    crate::check::copy_dir(&root().join("prompts"), &library);
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "a file beside the library, not in it").expect("written");
    let link = |from: &Path, to: &str| {
        std::fs::remove_file(library.join(to)).expect("the prompt file is there");
        std::os::unix::fs::symlink(from, library.join(to)).expect("a link");
    };
    link(&secret, "kk/welcome.txt");
    link(Path::new("/dev/zero"), "ru/welcome.wav");
    link(Path::new("../ru/main_menu.wav"), "kk/main_menu.wav");
    let mut huge = std::fs::read(library.join("ru/goodbye.wav")).expect("a recording");
    huge.resize(5 * 1024 * 1024, 0);
    std::fs::write(library.join("kk/goodbye.wav"), huge).expect("written");

    let errors: Vec<String> =
        PromptLibrary::load(&library).expect_err("refused").iter().map(ToString::to_string).collect();
    let has = |file: &str, problem: &str| errors.iter().any(|e| e.contains(file) && e.contains(problem));
    assert!(has("kk/welcome.txt", "outside the prompt library"), "{errors:#?}");
    assert!(has("ru/welcome.wav", "a link to /dev/zero, outside the prompt library"), "{errors:#?}");
    assert!(has("kk/goodbye.wav", "too large for a recording"), "{errors:#?}");
    assert_eq!(errors.len(), 3, "the link inside the library is read: {errors:#?}");
}

/// Whether espeak-ng and sox are installed; CI installs them and must not skip.
fn synthesis_tools() -> bool {
    let found = |tool: &str| Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    let present = found("espeak-ng") && found("sox");
    assert!(present || std::env::var_os("CI").is_none(), "CI must have espeak-ng and sox");
    present
}

#[test]
fn synthesize_keeps_a_studio_recording_and_regenerates_the_placeholders() {
    if !synthesis_tools() {
        eprintln!("skipped: espeak-ng or sox is not installed (Debian packages espeak-ng, sox)");
        return;
    }
    let library = small_library();
    std::fs::copy(root().join("prompts/synthesize.sh"), library.path().join("synthesize.sh")).expect("script copied");
    std::fs::copy(root().join("prompts/espeak.tsv"), library.path().join("espeak.tsv")).expect("spellings copied");
    std::fs::copy(root().join("prompts/rates.tsv"), library.path().join("rates.tsv")).expect("rates copied");
    let manifest = library.path().join("manifest.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let at = text.find("[prompts.welcome]").expect("the welcome's table");
    let (before, after) = text.split_at(at);
    let marked = after.replacen(r#"recording = { kk = "synthetic""#, r#"recording = { kk = "studio""#, 1);
    std::fs::write(&manifest, format!("{before}{marked}")).expect("manifest written");
    let studio = library.path().join("kk/welcome.wav");
    std::fs::write(&studio, b"a studio take").expect("pretend studio take");
    let placeholder = library.path().join("ru/welcome.wav");
    std::fs::write(&placeholder, b"stale").expect("stale placeholder");

    let output = Command::new("bash")
        .arg(library.path().join("synthesize.sh"))
        .arg("welcome")
        .output()
        .expect("synthesize.sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("kk   welcome                studio recording, kept"), "{stdout}");
    assert_eq!(std::fs::read(&studio).expect("kept"), b"a studio take", "a studio recording is never overwritten");
    let regenerated = std::fs::read(&placeholder).expect("regenerated");
    assert_eq!(regenerated, std::fs::read(root().join("prompts/ru/welcome.wav")).expect("committed"), "deterministic");
}

#[test]
fn a_guidance_part_is_timed_by_its_text_in_whole_seconds_rounded_down() {
    let flow = Flow::load(&root().join("flows/hotline.toml")).expect("the bundled flow");
    let prompts = bundled_prompts();
    let evidence = flow.node(flow.node_id("evidence_1").expect("a node"));
    for language in Language::ALL {
        let text = prompts.get(language, &key("guidance_evidence_1")).expect("a recording").duration;
        assert_eq!(prompts.part_seconds(evidence, language), u16::try_from(text.as_secs()).ok(), "{language}");
    }
    let main = flow.node(flow.node_id("main").expect("a node"));
    assert_eq!(prompts.part_seconds(main, Language::Kk), None, "a menu has no part");
}
