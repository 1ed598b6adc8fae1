//! The seed and layer-size axes as a person types them: `10`, `0,3,7`, `5-9`; `512,256`.

use super::{MAX_SEEDS, has_repeats};

/// Parses a seed axis: a count (`10`: seeds 0 to 9), a list (`0,3,7`; one seed: `7,`) or an
/// inclusive range (`5-9` or `5..9`).
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let text = text.trim();
    // A trailing comma makes a list of one: `7,` is seed 7, where `7` is seven seeds.
    let text = match text.strip_suffix(',') {
        Some(one) if !one.contains(',') && !one.is_empty() => {
            return Ok(vec![
                one.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{one:?} is not a seed (a whole number)"))?,
            ]);
        }
        _ => text,
    };
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("{s:?} is not a seed (a whole number)"))
    };
    // The count is checked before the list is built: `0-18446744073709551615` would overflow
    // the allocation's size and `1000000000000` ask for 8 TB. It is a u128 because the range
    // over every u64 has one more element than u64 holds.
    let at_most = |count: u128| {
        if count > MAX_SEEDS as u128 {
            Err(format!(
                "{text:?} gives {count} seeds; at most {MAX_SEEDS} are allowed"
            ))
        } else {
            Ok(())
        }
    };
    let seeds = if text.contains(',') {
        at_most(text.split(',').count() as u128)?;
        text.split(',').map(number).collect::<Result<Vec<_>, _>>()?
    } else if let Some((a, b)) = text.split_once("..").or_else(|| text.split_once('-')) {
        let (a, b) = (number(a)?, number(b)?);
        if a > b {
            return Err(format!("the range {text:?} is empty: {a} is above {b}"));
        }
        at_most(u128::from(b - a) + 1)?;
        (a..=b).collect()
    } else {
        let count = number(text)?;
        at_most(u128::from(count))?;
        (0..count).collect()
    };
    if seeds.is_empty() {
        return Err(format!(
            "{text:?} gives no seed: give a count of at least 1, a list or a range"
        ));
    }
    if has_repeats(&seeds) {
        return Err(format!("{text:?} names a seed twice"));
    }
    Ok(seeds)
}

/// Parses hidden layer sizes, `512,256,256,128`.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{s:?} in {text:?} is not a layer size (at least 1)"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_axes_parse_as_counts_lists_and_ranges() {
        assert_eq!(parse_seeds("3").unwrap(), [0, 1, 2]);
        assert_eq!(parse_seeds("0,3,7").unwrap(), [0, 3, 7]);
        assert_eq!(parse_seeds("5-7").unwrap(), [5, 6, 7]);
        assert_eq!(parse_seeds("5..7").unwrap(), [5, 6, 7]);
        assert_eq!(parse_seeds("7,").unwrap(), [7]);
        for bad in ["0", "a", "3,x", "9-5", "1,1", ""] {
            assert!(parse_seeds(bad).is_err(), "{bad:?}");
        }
        // Too many seeds are refused before the list is built, with the count.
        let most = MAX_SEEDS.to_string();
        assert_eq!(parse_seeds(&most).unwrap().len(), MAX_SEEDS);
        assert_eq!(parse_seeds("5-100004").unwrap().len(), MAX_SEEDS);
        let list: Vec<String> = (0..=MAX_SEEDS).map(|s| s.to_string()).collect();
        for (text, count) in [
            ("0-18446744073709551615", "18446744073709551616"),
            ("0..18446744073709551615", "18446744073709551616"),
            ("1000000000000", "1000000000000"),
            ("18446744073709551615", "18446744073709551615"),
            ("5-100005", "100001"),
            (&list.join(","), "100001"),
        ] {
            assert_eq!(
                parse_seeds(text).unwrap_err(),
                format!("{text:?} gives {count} seeds; at most {MAX_SEEDS} are allowed"),
                "{count}"
            );
        }
    }

    #[test]
    fn hidden_sizes_parse_and_zero_is_refused() {
        assert_eq!(parse_hidden("512,256").unwrap(), [512, 256]);
        assert!(parse_hidden("512,0").is_err());
        assert!(parse_hidden("wide").is_err());
    }
}
