//! The study's figures drawn from plain numbers (no candle): line grids, histograms with density
//! curves and image grids, as SVG and PNG.
