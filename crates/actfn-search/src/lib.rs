//! Search the space of activation functions, as `cargo xtask search` does: the candidate
//! formulas of a [`Space`], [`screen`]ed for safety and deduplicated by behaviour, and
//! successive halving's [`promote`] rule. The training itself is the sweep's (each stage of a
//! search is a sweep folder); this crate holds what needs no data.
//!
//! API boundary: [`Space`] (core units and formulas), [`screen`] with [`Screened`],
//! [`Candidate`] and [`Skipped`], [`promote`] and [`survivors`], [`normal_moments`], and the
//! mechanism study's [`associations`] and [`cross_validated_ranking`], over a stage's
//! [`Standing`]s ([`mechanism`]), which `standings.csv` holds ([`standings_csv`],
//! [`read_standings`]).

mod halving;
mod mechanism;
mod screen;
mod space;
mod standing;

pub use halving::{promote, survivors};
pub use mechanism::{
    Association, Measurement, PERMUTATIONS, Prediction, associations, cross_validated_ranking,
};
pub use screen::{Candidate, Screened, Skipped, normal_moments, screen};
pub use space::Space;
pub use standing::{MEASUREMENTS, Standing, mechanism, read_standings, standings_csv, training};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
