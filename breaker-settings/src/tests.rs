use super::*;

#[test]
fn keys_are_unique_and_snake_case() {
    for (i, setting) in SETTINGS.iter().enumerate() {
        assert_eq!(index(setting.key), Some(i), "`{}` twice", setting.key);
        assert!(
            setting
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'),
            "{}",
            setting.key
        );
    }
}

#[test]
fn every_default_and_example_is_a_value_the_setting_takes() {
    for setting in SETTINGS {
        if let Default::Is(value) = setting.default {
            let input = value.input();
            assert_eq!(check(setting, input), Ok(value), "`{}`", setting.key);
        }
        let example = match setting.example.strip_prefix('"') {
            Some(text) => Input::Text(text.trim_end_matches('"')),
            None if setting.example.contains('.') => {
                Input::Number(setting.example.parse().unwrap())
            }
            None => Input::Whole(setting.example.parse().unwrap()),
        };
        assert!(
            check(setting, example).is_ok(),
            "`{}` = {}",
            setting.key,
            setting.example
        );
    }
}

/// Settings as a map, for the rules.
struct Map(Vec<(&'static str, Option<Value>)>);

impl Given for Map {
    fn value(&self, key: &str) -> Option<Value> {
        self.0.iter().find(|(k, _)| *k == key).and_then(|(_, v)| *v)
    }
    fn written(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }
}

#[test]
fn an_exponential_backoff_caps_at_its_default_when_none_is_written() {
    let map = Map(vec![
        ("backoff", Some(Value::Choice("exponential"))),
        ("cooldown", Some(Value::Duration(Duration::from_secs(3600)))),
    ]);
    let found = conflicts(&map);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "max_cooldown");
    assert_eq!(found[0].value, Value::Duration(DEFAULT_MAX_COOLDOWN));
}

#[test]
fn a_window_written_wrong_leaves_its_kind_unchecked() {
    let map = Map(vec![
        ("window", None),
        ("window_size", Some(Value::Whole(10))),
        ("window_buckets", Some(Value::Whole(3))),
    ]);
    assert_eq!(conflicts(&map), []);
}
