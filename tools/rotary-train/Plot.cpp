//===- Plot.cpp - rotary-train's loss plots (gnuplot) ---------------------===//

#include "Plot.h"

#include <csignal>
#include <cstdio>
#include <signal.h>
#include <sys/wait.h>

using namespace rotary::train;

namespace {
/// `s` as a gnuplot string literal: single quotes, '' for a quote.
std::string quoted(const std::string &s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

} // namespace

std::string rotary::train::plotCsv(const std::string &csv,
                                   const std::string &png,
                                   const std::string &title,
                                   const std::string &ylabel,
                                   const std::vector<int> &columns,
                                   int skipRows) {
  std::string script = "set datafile separator ','\n"
                       "set terminal pngcairo size 900,560 noenhanced\n"
                       "set output " +
                       quoted(png) +
                       "\n"
                       "set key autotitle columnhead\n"
                       "set title " +
                       quoted(title) +
                       "\n"
                       "set xlabel 'step'\n"
                       "set ylabel " +
                       quoted(ylabel) +
                       "\n"
                       "set grid\n"
                       "plot ";
  for (size_t i = 0; i < columns.size(); ++i)
    script += (i ? ", '' " : quoted(csv) + " ") +
              "every ::" + std::to_string(skipRows) + " using 1:" +
              std::to_string(columns[i] + 1) +
              " with linespoints pt 7 ps 0.4";
  script += "\n";
  // The shell says 127 when there is no gnuplot to run.
  FILE *gnuplot =
      ::popen("command -v gnuplot >/dev/null || exit 127; exec gnuplot", "w");
  if (!gnuplot)
    return "cannot start gnuplot";
  // A shell that found no gnuplot may exit before the script is written:
  // the write must then fail with EPIPE, not kill the process (SIGPIPE)
  // before it reports why there is no plot.
  struct sigaction ignore = {}, previous = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  std::fwrite(script.data(), 1, script.size(), gnuplot);
  std::fflush(gnuplot);
  int status = ::pclose(gnuplot);
  ::sigaction(SIGPIPE, &previous, nullptr);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return "gnuplot is not installed (Debian's gnuplot-nox; scripts/setup "
           "installs it)";
  if (status != 0)
    return "gnuplot failed (exit status " +
           std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : status) +
           ")";
  return "";
}
