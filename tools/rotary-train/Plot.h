//===- Plot.h - rotary-train's loss plots (gnuplot) -------------*- C++ -*-===//
//
// PNG plots drawn by gnuplot (Debian's gnuplot-nox, which scripts/setup
// installs) from CSV files: a run's training and validation loss from its
// --csv log, and a comparison's mean validation curves.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TRAIN_PLOT_H
#define ROTARY_TRAIN_PLOT_H

#include <string>
#include <vector>

namespace rotary::train {

/// Draws the `columns` (1-based, after the step in column 1) of the CSV
/// `csv` against its first column into the PNG `png`, titled by the CSV
/// header, leaving out the first `skipRows` data rows; an empty field is a
/// missing point. Returns "" on success, else why no plot was made
/// (gnuplot missing or failing).
std::string plotCsv(const std::string &csv, const std::string &png,
                    const std::string &title, const std::string &ylabel,
                    const std::vector<int> &columns, int skipRows = 0);

} // namespace rotary::train

#endif // ROTARY_TRAIN_PLOT_H
