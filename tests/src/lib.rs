//! Fixtures shared by the cross-crate tests: where the project, `../shared` and the real data are.
