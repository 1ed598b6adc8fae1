//! Comparing saved settings with the ones asked for now, naming the first that differs.

use serde::Serialize;
use serde_json::Value;

/// The first setting where `saved` and `now` differ, as `path: saved X, now Y` (for example
/// `train.optimizer.lr: saved 0.01, now 0.1`), or `None` when they are equal. Fields are
/// compared in alphabetical order, nested fields by their dotted path.
pub fn first_difference<T: Serialize>(saved: &T, now: &T) -> serde_json::Result<Option<String>> {
    fn walk(path: &str, a: &Value, b: &Value) -> Option<String> {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|k| {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        &sub,
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                    )
                })
            }
            _ if a == b => None,
            _ => Some(format!("{path}: saved {a}, now {b}")),
        }
    }
    Ok(walk(
        "",
        &serde_json::to_value(saved)?,
        &serde_json::to_value(now)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Inner {
        lr: f64,
    }

    #[derive(Serialize)]
    struct Outer {
        seed: u64,
        optimizer: Inner,
    }

    #[test]
    fn names_the_first_nested_difference() {
        let a = Outer {
            seed: 1,
            optimizer: Inner { lr: 0.01 },
        };
        let b = Outer {
            seed: 1,
            optimizer: Inner { lr: 0.1 },
        };
        assert_eq!(
            first_difference(&a, &b).unwrap().as_deref(),
            Some("optimizer.lr: saved 0.01, now 0.1")
        );
        assert_eq!(first_difference(&a, &a).unwrap(), None);
    }

    #[test]
    fn a_value_that_cannot_be_serialized_is_an_error_not_equality() {
        // JSON has no NaN: serde_json refuses a map whose keys are not strings.
        let a = std::collections::HashMap::from([((1, 2), 3)]);
        assert!(first_difference(&a, &a).is_err());
    }
}
