//===- Compare.cpp - rotary-train --compare GRID --------------------------===//

#include "Compare.h"

#include "Checkpoint.h"
#include "Plot.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace rotary::train;

namespace {
constexpr const char *kDefaultGrid =
    "pos=rope,xpos,hdd,rotation opt=adam,fam seed=1,2,3";

/// The options a grid may vary: those taking one plain value.
const std::set<std::string> kGridKeys = {
    "pos",      "opt",          "attn",   "seed",     "lr",
    "conv",     "window",       "global", "rel-bias", "hdd-chunk",
    "hdd-form", "dim",          "heads",  "layers",   "batch",
    "seq",      "weight-decay", "clip",   "warmup",   "xpos-scale-base",
    "min-lr",   "rotations",    "penalty"};

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

std::vector<std::string> split(const std::string &s, char separator) {
  std::vector<std::string> items;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, separator))
    if (!item.empty())
      items.push_back(item);
  return items;
}

std::vector<Axis> parseGrid(const std::string &text) {
  std::string grid = text == "default" ? kDefaultGrid : text;
  std::vector<Axis> axes;
  std::string form = " (a grid is 'default' or 'KEY=V,V KEY=V,V ...')";
  for (const std::string &item : split(grid, ' ')) {
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (eq == std::string::npos || !kGridKeys.count(key))
      usage("--compare " + text + ": '" + item +
            "' is not KEY=V,V with KEY one of the options a grid varies "
            "(pos, opt, attn, seed, lr, conv, window, ...)" +
            form);
    for (const Axis &axis : axes)
      if (axis.key == key)
        usage("--compare " + text + ": '" + key + "' appears twice");
    std::string values = item.substr(eq + 1);
    Axis axis{key, split(values, ',')};
    if (axis.values.empty() || values.back() == ',' ||
        values.find(",,") != std::string::npos)
      usage("--compare " + text + ": '" + item + "' has an empty value" + form);
    axes.push_back(axis);
  }
  if (axes.empty())
    usage("--compare " + text + ": an empty grid" + form);
  return axes;
}

/// One run of the grid: its options, by axis.
struct Cell {
  std::vector<std::pair<std::string, std::string>> settings;
  std::string name() const { // a folder name: pos-rope_opt-adam_seed-1
    std::string n;
    for (const auto &[k, v] : settings)
      n += (n.empty() ? "" : "_") + k + "-" + v;
    return n;
  }
  std::string config() const { // without the seed: "pos=rope opt=adam"
    std::string c;
    for (const auto &[k, v] : settings)
      if (k != "seed")
        c += (c.empty() ? "" : " ") + k + "=" + v;
    return c.empty() ? "all" : c;
  }
  std::map<std::string, std::string> summary;
};

std::vector<Cell> cellsOf(const std::vector<Axis> &axes) {
  std::vector<Cell> cells(1);
  for (const Axis &axis : axes) {
    std::vector<Cell> next;
    for (const Cell &c : cells)
      for (const std::string &v : axis.values) {
        Cell d = c;
        d.settings.push_back({axis.key, v});
        next.push_back(d);
      }
    cells = next;
  }
  return cells;
}

std::string selfPath() {
  char buffer[4096];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0)
    fail(kFailed, "--compare: cannot find this program's path "
                  "(/proc/self/exe)");
  return std::string(buffer, size_t(n));
}

/// Runs `args` (args[0] the program) with stdout and stderr into `log`;
/// returns the wait status.
int run(const std::vector<std::string> &args, const std::string &log) {
  pid_t pid = ::fork();
  if (pid < 0)
    fail(kFailed,
         std::string("--compare: fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      ::_exit(127);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char *> argv;
    for (const std::string &s : args)
      argv.push_back(const_cast<char *>(s.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return status;
}

std::map<std::string, std::string> readSummary(const std::string &path) {
  std::map<std::string, std::string> m;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos)
      m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

double number(const std::map<std::string, std::string> &m,
              const std::string &key) {
  auto it = m.find(key);
  return it == m.end() ? std::nan("")
                       : std::strtod(it->second.c_str(), nullptr);
}

/// The validation curve of a run: (step, loss) from step 0 on.
std::vector<std::pair<int64_t, double>> curveOf(const Cell &c) {
  std::vector<std::pair<int64_t, double>> curve = {
      {0, number(c.summary, "first_val_loss")}};
  const std::string prefix = "val_loss_at_";
  for (const auto &[key, value] : c.summary)
    if (key.compare(0, prefix.size(), prefix) == 0)
      curve.push_back({std::stoll(key.substr(prefix.size())),
                       std::strtod(value.c_str(), nullptr)});
  std::sort(curve.begin(), curve.end());
  return curve;
}

/// The first step at which the curve reaches `level`, interpolated
/// linearly between validations; NaN when it never does.
double stepsTo(const std::vector<std::pair<int64_t, double>> &curve,
               double level) {
  for (size_t i = 1; i < curve.size(); ++i) {
    auto [s0, l0] = curve[i - 1];
    auto [s1, l1] = curve[i];
    if (l1 <= level) {
      if (l0 <= level || l0 == l1)
        return double(s1);
      return double(s0) + double(s1 - s0) * (l0 - level) / (l0 - l1);
    }
  }
  return std::nan("");
}

/// "2.813 ± 0.012": mean ± sample standard deviation; "—" when a value is
/// missing.
std::string meanSpread(const std::vector<double> &xs, int digits) {
  if (xs.empty() ||
      std::any_of(xs.begin(), xs.end(), [](double x) { return std::isnan(x); }))
    return "—";
  double mean = 0, var = 0;
  for (double x : xs)
    mean += x / double(xs.size());
  for (double x : xs)
    var += (x - mean) * (x - mean);
  double sd = xs.size() > 1 ? std::sqrt(var / double(xs.size() - 1)) : 0;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f ± %.*f", digits, mean, digits, sd);
  return buffer;
}

double mean(const std::vector<double> &xs) {
  double m = 0;
  for (double x : xs)
    m += x / double(xs.size());
  return m;
}
} // namespace

int rotary::train::compare(const Args &a, int argc, char **argv) {
  std::vector<Axis> axes = parseGrid(a.compare);
  // The rest of the command line goes to every run.
  std::vector<std::string> common;
  std::set<std::string> given;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--compare" || f == "--out") {
      ++i;
      continue;
    }
    given.insert(f);
    common.push_back(f);
  }
  for (const Axis &axis : axes)
    if (given.count("--" + axis.key))
      usage("--compare: --" + axis.key +
            " is both in the grid and on the command line");
  if (!given.count("--val-every"))
    common.insert(
        common.end(),
        {"--val-every", std::to_string(std::max<int64_t>(1, a.steps / 10))});
  if (!given.count("--sample"))
    common.insert(common.end(), {"--sample", "0"});

  std::vector<Cell> cells = cellsOf(axes);
  std::string self = selfPath();
  fs::path runs = fs::path(a.out) / "runs";
  std::error_code ec;
  fs::create_directories(runs, ec);
  if (ec)
    fail(kBadUsage, "--out " + a.out + ": cannot create '" + runs.string() +
                        "': " + ec.message());
  // Every cell's command line is checked before the first run.
  std::vector<std::vector<std::string>> commands;
  for (const Cell &c : cells) {
    std::vector<std::string> args = {self};
    for (const auto &[k, v] : c.settings)
      args.insert(args.end(), {"--" + k, v});
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), {"--out", (runs / c.name()).string()});
    std::vector<char *> cargv;
    for (std::string &s : args)
      cargv.push_back(s.data());
    parse(int(cargv.size()), cargv.data());
    commands.push_back(args);
  }

  std::printf("rotary-train --compare: %zu runs into %s\n", cells.size(),
              a.out.c_str());
  std::fflush(stdout);
  auto start = std::chrono::steady_clock::now();
  size_t ran = 0, reused = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    Cell &c = cells[i];
    fs::path dir = runs / c.name();
    fs::create_directories(dir, ec);
    std::string output = (dir / "output.txt").string();
    // A run that finished with this very command line (an interrupted or
    // extended comparison) is not run again.
    std::string command;
    for (size_t k = 1; k < commands[i].size(); ++k)
      command += commands[i][k] + "\n";
    std::string commandFile = (dir / "command.txt").string();
    std::ifstream previous(commandFile);
    std::string before((std::istreambuf_iterator<char>(previous)),
                       std::istreambuf_iterator<char>());
    c.summary = readSummary((dir / "summary.txt").string());
    if (before == command && !c.summary.empty()) {
      ++reused;
      std::printf("[%zu/%zu] %s: validation loss %.4f, %.0f tokens/s (from "
                  "an earlier comparison)\n",
                  i + 1, cells.size(), c.name().c_str(),
                  number(c.summary, "final_val_loss"),
                  number(c.summary, "tokens_per_s"));
      continue;
    }
    ::unlink(commandFile.c_str());
    int status = run(commands[i], output);
    bool finished = WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
                                          WEXITSTATUS(status) == kFailed);
    c.summary = readSummary((dir / "summary.txt").string());
    if (!finished || c.summary.empty())
      fail(kFailed,
           "--compare: the run " + c.name() + " failed (" +
               (WIFEXITED(status)
                    ? "exit status " + std::to_string(WEXITSTATUS(status))
                    : "signal " + std::to_string(WTERMSIG(status))) +
               "); its output is in " + output);
    try {
      writeFileAtomically(commandFile, command);
    } catch (const std::exception &e) {
      fail(kFailed, std::string("--compare: ") + e.what());
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    ++ran;
    std::printf(
        "[%zu/%zu] %s: validation loss %.4f, %.0f tokens/s; ETA %s\n", i + 1,
        cells.size(), c.name().c_str(), number(c.summary, "final_val_loss"),
        number(c.summary, "tokens_per_s"),
        duration(seconds / double(ran) * double(cells.size() - i - 1)).c_str());
    std::fflush(stdout);
  }
  double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  // Configurations in grid order, each with its seeds' runs.
  std::vector<std::string> configs;
  std::map<std::string, std::vector<const Cell *>> byConfig;
  for (const Cell &c : cells) {
    if (!byConfig.count(c.config()))
      configs.push_back(c.config());
    byConfig[c.config()].push_back(&c);
  }
  // The table's fixed steps: the validations nearest a quarter, half and
  // all of the run.
  std::vector<std::pair<int64_t, double>> steps0 = curveOf(cells.front());
  std::vector<int64_t> columns;
  for (double fraction : {0.25, 0.5, 1.0}) {
    int64_t want = int64_t(std::llround(fraction * double(a.steps)));
    int64_t best = steps0.back().first;
    for (const auto &point : steps0)
      if (point.first > 0 &&
          std::llabs(point.first - want) < std::llabs(best - want))
        best = point.first;
    if (std::find(columns.begin(), columns.end(), best) == columns.end())
      columns.push_back(best);
  }
  // The common level: the worst run's final loss, which every run reaches
  // by its end.
  double level = -std::numeric_limits<double>::infinity();
  for (const Cell &c : cells)
    level = std::max(level, number(c.summary, "final_val_loss"));

  std::ostringstream table;
  table << "| configuration |";
  for (int64_t s : columns)
    table << " val. loss @ step " << s << " |";
  char levelText[32];
  std::snprintf(levelText, sizeof levelText, "%.3f", level);
  table << " steps to " << levelText << " |";
  for (int64_t l : a.evalSeq)
    table << " val. loss @ seq " << l << " |";
  table << " tokens/s |\n|---|";
  for (size_t i = 0; i < columns.size() + a.evalSeq.size() + 2; ++i)
    table << "---:|";
  table << "\n";
  for (const std::string &config : configs) {
    const std::vector<const Cell *> &runsOf = byConfig[config];
    // One cell: a value of every seed's run, as mean ± spread.
    auto cell = [&](const std::function<double(const Cell &)> &value,
                    int digits) {
      std::vector<double> xs;
      for (const Cell *c : runsOf)
        xs.push_back(value(*c));
      table << " " << meanSpread(xs, digits) << " |";
    };
    auto summaryValue = [](const std::string &key) {
      return [key](const Cell &c) { return number(c.summary, key); };
    };
    table << "| " << config << " |";
    for (int64_t s : columns)
      cell(summaryValue("val_loss_at_" + std::to_string(s)), 3);
    cell([&](const Cell &c) { return stepsTo(curveOf(c), level); }, 0);
    for (int64_t l : a.evalSeq)
      cell(summaryValue("eval_seq_" + std::to_string(l)), 3);
    cell(summaryValue("tokens_per_s"), 0);
    table << "\n";
  }

  // The mean validation curve of each configuration.
  std::string curves = (fs::path(a.out) / "curves.csv").string();
  {
    std::ofstream out(curves, std::ios::trunc);
    out << "step";
    for (const std::string &config : configs)
      out << "," << config;
    out << "\n";
    for (size_t i = 0; i < steps0.size(); ++i) {
      out << steps0[i].first;
      for (const std::string &config : configs) {
        std::vector<double> xs;
        for (const Cell *c : byConfig[config]) {
          auto curve = curveOf(*c);
          xs.push_back(i < curve.size() ? curve[i].second : std::nan(""));
        }
        out << "," << formatReal(mean(xs));
      }
      out << "\n";
    }
    if (!out)
      fail(kFailed, "--compare: cannot write " + curves);
  }
  std::vector<int> plotted;
  for (size_t i = 0; i < configs.size(); ++i)
    plotted.push_back(int(i) + 1);
  std::string png = (fs::path(a.out) / "compare.png").string();
  // Without step 0, the untrained model, whose loss would flatten the rest.
  std::string why = plotCsv(curves, png, "rotary-train --compare " + a.compare,
                            "mean validation loss", plotted,
                            /*skipRows=*/1);

  std::string command = "rotary-train";
  for (int i = 1; i < argc; ++i)
    command += std::string(" ") + (std::strchr(argv[i], ' ')
                                       ? "'" + std::string(argv[i]) + "'"
                                       : std::string(argv[i]));
  std::ostringstream md;
  md << "# rotary-train --compare\n\n"
     << "    " << command << "\n\n"
     << cells.size() << " runs of " << a.steps << " steps in "
     << duration(total)
     << (reused ? " (" + std::to_string(reused) +
                      " of them from an earlier comparison)"
                : std::string())
     << ". Each cell is mean ± sample standard deviation "
     << "over the seeds; validation losses are in nats per "
     << (a.task.empty() ? "byte" : "token") << " on a fixed held-out batch; "
     << "\"steps to " << levelText << "\" is when the validation loss first "
     << "reaches the worst run's final loss, a level every run reaches "
     << "(interpolated between validations); — where a seed diverged (its "
     << "loss was not finite) or never reached the level. Curves: compare.png, "
        "curves.csv; "
        "each run's "
     << "output and log: runs/.\n\n"
     << table.str();
  std::string results = (fs::path(a.out) / "results.md").string();
  try {
    writeFileAtomically(results, md.str());
  } catch (const std::exception &e) {
    fail(kFailed, "--compare: " + std::string(e.what()));
  }
  std::printf("\n%s\nresults: %s%s\n", table.str().c_str(), results.c_str(),
              why.empty() ? ("; plot " + png).c_str()
                          : ("; no plot: " + why).c_str());
  return 0;
}
