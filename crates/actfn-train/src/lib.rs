//! Training as the study trains: momentum SGD, early stopping on validation accuracy, the best
//! checkpoint, and per-epoch metrics.
