//! NCRONTAB schedules, as Azure Functions timers write them (m365-facts B§4.2): six
//! fields `{second} {minute} {hour} {day} {month} {day-of-week}` (five fields mean
//! second 0), each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a list of
//! those; months and weekdays also by three-letter name; weekday 0 or 7 is Sunday. As in
//! NCrontab, day-of-month and day-of-week must both match. Times are UTC.

use time::{Date, OffsetDateTime, Time};

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule {schedule:?}: {why}")]
pub struct ScheduleError {
    schedule: String,
    why: String,
}

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(text: &str, min: u32, max: u32, names: &[&str], names_from: u32) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(names_from + i as u32);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if v < min || v > max {
        return Err(format!("{v} is outside {min}-{max}"));
    }
    Ok(v)
}

fn field(text: &str, min: u32, max: u32, names: &[&str], names_from: u32) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("step {s:?} is not a number"))?;
                if step == 0 {
                    return Err("a step of 0".into());
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                value(a, min, max, names, names_from)?,
                value(b, min, max, names, names_from)?,
            )
        } else {
            let v = value(range, min, max, names, names_from)?;
            // `5/15` means from 5 to the end, every 15.
            (v, if part.contains('/') { max } else { v })
        };
        if lo > hi {
            return Err(format!("range {lo}-{hi} runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Schedule {
    /// Parses a five- or six-field NCRONTAB expression.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let err = |why: String| ScheduleError {
            schedule: text.to_string(),
            why,
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let parts: Vec<&str> = match parts.len() {
            6 => parts,
            5 => std::iter::once("0").chain(parts).collect(),
            n => {
                return Err(err(format!(
                    "{n} fields; expected 6 (second minute hour day month day-of-week)"
                )))
            }
        };
        let mut weekdays =
            field(parts[5], 0, 7, &WEEKDAYS, 0).map_err(|e| err(format!("day-of-week: {e}")))?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f; // 7 is Sunday too
        }
        Ok(Self {
            seconds: field(parts[0], 0, 59, &[], 0).map_err(|e| err(format!("second: {e}")))?,
            minutes: field(parts[1], 0, 59, &[], 0).map_err(|e| err(format!("minute: {e}")))?,
            hours: field(parts[2], 0, 23, &[], 0).map_err(|e| err(format!("hour: {e}")))?,
            days: field(parts[3], 1, 31, &[], 0).map_err(|e| err(format!("day: {e}")))?,
            months: field(parts[4], 1, 12, &MONTHS, 1).map_err(|e| err(format!("month: {e}")))?,
            weekdays,
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        self.months & (1 << u8::from(d.month())) != 0
            && self.days & (1 << d.day()) != 0
            && self.weekdays & (1 << d.weekday().number_days_from_sunday()) != 0
    }

    fn first_time_after(&self, after: Option<Time>) -> Option<Time> {
        for h in 0..24u8 {
            if self.hours & (1 << h) == 0 {
                continue;
            }
            for m in 0..60u8 {
                if self.minutes & (1 << m) == 0 {
                    continue;
                }
                for s in 0..60u8 {
                    if self.seconds & (1 << s) == 0 {
                        continue;
                    }
                    let t = Time::from_hms(h, m, s).ok()?;
                    if after.is_none_or(|a| t > a) {
                        return Some(t);
                    }
                }
            }
        }
        None
    }

    /// The first time strictly after `now` (UTC) the schedule names; `None` when none
    /// within eight years (e.g. 30 February).
    pub fn next_after(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let now = now.to_offset(time::UtcOffset::UTC);
        let mut day = now.date();
        let mut after = Some(now.time().replace_nanosecond(0).ok()?);
        for _ in 0..(366 * 8) {
            if self.day_matches(day) {
                if let Some(t) = self.first_time_after(after) {
                    return Some(day.with_time(t).assume_utc());
                }
            }
            day = day.next_day()?;
            after = None;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn next(s: &str, now: OffsetDateTime) -> OffsetDateTime {
        Schedule::parse(s)
            .expect("parses")
            .next_after(now)
            .expect("a next time")
    }

    #[test]
    fn nightly_default_and_steps() {
        assert_eq!(
            next("0 0 2 * * *", datetime!(2026-11-22 14:00 UTC)),
            datetime!(2026-11-23 02:00 UTC)
        );
        assert_eq!(
            next("0 0 2 * * *", datetime!(2026-11-22 01:59:59 UTC)),
            datetime!(2026-11-22 02:00 UTC)
        );
        assert_eq!(
            next("0 */5 * * * *", datetime!(2026-11-22 14:02:30 UTC)),
            datetime!(2026-11-22 14:05 UTC)
        );
        assert_eq!(
            next("*/30 * * * * *", datetime!(2026-11-22 14:02:30 UTC)),
            datetime!(2026-11-22 14:03 UTC)
        );
        assert_eq!(
            next("0 * * * *", datetime!(2026-11-22 14:02 UTC)),
            datetime!(2026-11-22 15:00 UTC),
            "five fields"
        );
    }

    #[test]
    fn day_of_month_and_weekday_both_match() {
        // Friday the 13th.
        assert_eq!(
            next("0 0 9 13 * FRI", datetime!(2026-01-01 0:00 UTC)),
            datetime!(2026-02-13 09:00 UTC)
        );
        assert_eq!(
            next("0 0 9 * * 7", datetime!(2026-11-22 10:00 UTC)),
            datetime!(2026-11-29 09:00 UTC),
            "7 is Sunday"
        );
        assert_eq!(
            next("0 0 0 29 feb *", datetime!(2026-03-01 0:00 UTC)),
            datetime!(2028-02-29 0:00 UTC)
        );
        assert_eq!(
            next(
                "0 30 1 1-7/2 jan-mar mon-fri",
                datetime!(2026-01-01 2:00 UTC)
            ),
            datetime!(2026-01-05 01:30 UTC)
        );
    }

    #[test]
    fn bad_schedules_are_reasons_and_impossible_ones_end() {
        for bad in [
            "",
            "* * * *",
            "61 * * * * *",
            "0 0 2 * * 8",
            "0 0 2 * * *,",
            "0 */0 * * * *",
            "0 5-1 * * * *",
            "0 0 x * * *",
        ] {
            let e = Schedule::parse(bad).expect_err(bad);
            assert!(e.to_string().contains("schedule"), "{e}");
        }
        let never = Schedule::parse("0 0 0 30 2 *").expect("parses");
        assert!(never.next_after(datetime!(2026-01-01 0:00 UTC)).is_none());
    }
}
