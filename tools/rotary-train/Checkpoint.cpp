//===- Checkpoint.cpp - rotary-train's checkpoint file format -------------===//

#include "Checkpoint.h"

#include "rotary/Bundle/Sha256.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

using namespace rotary::train;

namespace {
constexpr std::string_view kPayloadBytes = "payload_bytes";
constexpr std::string_view kPayloadSha = "payload_sha256";

[[noreturn]] void fail(const std::string &message) {
  throw CheckpointError(message);
}

bool isKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes)
    return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

bool isValue(std::string_view value) {
  if (value.size() > kMaxValueBytes)
    return false;
  for (char c : value)
    if (c < 0x20 || c > 0x7e)
      return false;
  return true;
}

bool isSha256(std::string_view hex) {
  if (hex.size() != 64)
    return false;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

/// At most 40 bytes of `text`, every byte outside printable ASCII as '?':
/// safe to quote in a message whatever the file holds.
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < 40; ++i)
    out += (text[i] >= 0x20 && text[i] <= 0x7e) ? text[i] : '?';
  return out + (text.size() > 40 ? "...'" : "'");
}

std::string osError(int error) { return std::strerror(error); }

/// What a non-regular file is, for messages.
std::string kindOf(mode_t mode) {
  if (S_ISDIR(mode))
    return "a folder";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  return "a special file";
}

/// The file a write to `path` replaces: `path`, or the file a symbolic link
/// there names (the link itself stays).
std::string targetOf(const std::string &path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    if (char *real = ::realpath(path.c_str(), nullptr)) {
      std::string resolved = real;
      std::free(real);
      return resolved;
    }
  }
  return path;
}

/// The folder of `path` ("." for a bare file name).
std::string folderOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

/// Creates `path`.tmp-XXXXXX; returns its descriptor and sets `name`.
int createTemporary(const std::string &path, std::string &name) {
  std::string pattern = path + ".tmp-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd >= 0)
    name = buffer.data();
  return fd;
}

mode_t newFileMode() {
  mode_t mask = ::umask(022);
  ::umask(mask);
  return 0666 & ~mask;
}
} // namespace

std::optional<int64_t> rotary::train::parseDecimal(std::string_view text) {
  bool negative = !text.empty() && text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 19 ||
      (digits.size() > 1 && digits.front() == '0') ||
      (negative && digits == "0"))
    return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + uint64_t(c - '0'); // 19 digits fit in uint64_t
  }
  if (value > (negative ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX)))
    return std::nullopt;
  return negative ? int64_t(0 - value) : int64_t(value);
}

Checkpoint rotary::train::parseCheckpoint(std::string_view bytes) {
  if (bytes.empty())
    fail("the file is empty");
  if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4))
    fail("this is a bare LibTorch archive, a checkpoint of an older "
         "rotary-train that did not record the model options; it cannot be "
         "resumed (train again with --save)");
  const std::string magic =
      std::string(kCheckpointMagic) + " " + std::to_string(kCheckpointVersion);
  // Only the first kMaxHeaderBytes are ever searched for line ends.
  std::string_view window = bytes.substr(0, kMaxHeaderBytes);
  size_t end = window.find('\n');
  std::string_view first =
      window.substr(0, end == std::string_view::npos ? window.size() : end);
  std::string prefix = std::string(kCheckpointMagic) + " ";
  if (end == std::string_view::npos &&
      std::string_view(magic).substr(0, first.size()) == first)
    fail("truncated: the file ends inside its header");
  if (first.substr(0, prefix.size()) != prefix)
    fail("not a rotary-train checkpoint (it does not begin with '" + magic +
         "')");
  if (end == std::string_view::npos)
    fail("truncated: the file ends inside its header");
  if (first != magic)
    fail("checkpoint format version " + quoted(first.substr(prefix.size())) +
         "; this rotary-train reads version " +
         std::to_string(kCheckpointVersion));

  Checkpoint result;
  std::optional<int64_t> payloadBytes;
  std::string sha;
  size_t pos = end + 1, lines = 0;
  for (;;) {
    size_t next = window.find('\n', pos);
    if (next == std::string_view::npos) {
      if (bytes.size() < kMaxHeaderBytes)
        fail("truncated: the file ends inside its header");
      fail("the header is longer than " + std::to_string(kMaxHeaderBytes) +
           " bytes (not a checkpoint of this rotary-train)");
    }
    std::string_view line = window.substr(pos, next - pos);
    pos = next + 1;
    if (line.empty())
      break;
    std::string where = "header line " + std::to_string(lines + 2) + ": ";
    if (++lines > kMaxHeaderLines)
      fail("the header has more than " + std::to_string(kMaxHeaderLines) +
           " key lines (not a checkpoint of this rotary-train)");
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      fail(where + quoted(line) + " is not key=value");
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (!isKey(key))
      fail(where + "bad key " + quoted(key) +
           " (keys are 1 to 64 of a-z 0-9 _)");
    if (!isValue(value))
      fail(where + "the value of '" + std::string(key) +
           "' is not printable ASCII of at most " +
           std::to_string(kMaxValueBytes) + " bytes");
    if (key == kPayloadBytes) {
      if (payloadBytes)
        fail(where + "'" + std::string(key) + "' appears twice");
      payloadBytes = parseDecimal(value);
      if (!payloadBytes || *payloadBytes < 0)
        fail(where + "payload_bytes is not a byte count: " + quoted(value));
    } else if (key == kPayloadSha) {
      if (!sha.empty())
        fail(where + "'" + std::string(key) + "' appears twice");
      if (!isSha256(value))
        fail(where +
             "payload_sha256 is not 64 lowercase hex digits: " + quoted(value));
      sha = std::string(value);
    } else if (!result.config.emplace(std::string(key), std::string(value))
                    .second) {
      fail(where + "'" + std::string(key) + "' appears twice");
    }
  }
  if (!payloadBytes)
    fail("the header has no payload_bytes");
  if (sha.empty())
    fail("the header has no payload_sha256");
  for (const char *key : kModelKeys)
    if (!result.config.count(key))
      fail(std::string("the header does not record the model option '") + key +
           "'");

  size_t have = bytes.size() - pos;
  if (uint64_t(*payloadBytes) > have)
    fail("truncated: the header announces " + std::to_string(*payloadBytes) +
         " payload bytes, the file holds " + std::to_string(have));
  if (uint64_t(*payloadBytes) < have)
    fail("the file has " + std::to_string(have - size_t(*payloadBytes)) +
         " bytes more than its header announces (" +
         std::to_string(*payloadBytes) + " payload bytes)");
  std::string_view payload = bytes.substr(pos);
  if (Sha256::hex(payload) != sha)
    fail("corrupted: the payload's SHA-256 does not match the header's");
  result.payload = std::string(payload);
  return result;
}

std::string rotary::train::formatCheckpoint(
    const std::map<std::string, std::string> &config,
    const std::string &payload) {
  if (config.size() + 2 > kMaxHeaderLines)
    fail("a checkpoint header holds at most " +
         std::to_string(kMaxHeaderLines - 2) + " configuration keys");
  std::string header = std::string(kCheckpointMagic) + " " +
                       std::to_string(kCheckpointVersion) + "\n";
  for (const auto &[key, value] : config) {
    if (!isKey(key))
      fail("bad checkpoint key " + quoted(key) +
           " (keys are 1 to 64 of a-z 0-9 _)");
    if (key == kPayloadBytes || key == kPayloadSha)
      fail("the checkpoint key '" + key + "' is reserved");
    if (!isValue(value))
      fail("the value of checkpoint key '" + key +
           "' is not printable ASCII of at most " +
           std::to_string(kMaxValueBytes) + " bytes");
    header += key + "=" + value + "\n";
  }
  for (const char *key : kModelKeys)
    if (!config.count(key))
      fail(
          std::string("the checkpoint configuration needs the model option '") +
          key + "'");
  header += std::string(kPayloadBytes) + "=" + std::to_string(payload.size()) +
            "\n" + std::string(kPayloadSha) + "=" + Sha256::hex(payload) +
            "\n\n";
  if (header.size() > kMaxHeaderBytes)
    fail("the checkpoint header would exceed " +
         std::to_string(kMaxHeaderBytes) + " bytes");
  return header + payload;
}

void rotary::train::checkOutputPath(const std::string &path, bool append) {
  if (path.empty())
    fail("no file name");
  if (path.back() == '/')
    fail("ends with '/': give a file name");
  std::string target = targetOf(path);
  std::string folder = folderOf(target);
  struct stat st;
  if (::stat(folder.c_str(), &st) != 0)
    fail(errno == ENOENT
             ? "the folder '" + folder + "' does not exist"
             : "cannot use the folder '" + folder + "': " + osError(errno));
  if (!S_ISDIR(st.st_mode))
    fail("'" + folder + "' is not a folder");
  if (::stat(target.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      fail("it is " + kindOf(st.st_mode) + ", not a regular file");
    if (append) {
      int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      if (fd < 0)
        fail("cannot open it for appending: " + osError(errno));
      ::close(fd);
    }
  } else if (errno != ENOENT) {
    fail("cannot use it: " + osError(errno));
  }
  // A file can be created there (and the name is not too long).
  std::string probe;
  int fd = createTemporary(target, probe);
  if (fd < 0)
    fail("cannot create a file in '" + folder + "': " + osError(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void rotary::train::writeFileAtomically(const std::string &path,
                                        const std::string &bytes) {
  writeFileAtomicallyWithHook(path, bytes, nullptr);
}

void rotary::train::writeFileAtomicallyWithHook(
    const std::string &path, const std::string &bytes,
    const std::function<void()> &beforeRename) {
  if (path.empty())
    fail("cannot write a file without a name");
  std::string target = targetOf(path);
  struct stat st;
  bool exists = ::stat(target.c_str(), &st) == 0;
  // Never rename over a folder, a device (/dev/full), a FIFO, ...
  if (exists && !S_ISREG(st.st_mode))
    fail("cannot write '" + path + "': it is " + kindOf(st.st_mode) +
         ", not a regular file");
  std::string temporary;
  int fd = createTemporary(target, temporary);
  if (fd < 0)
    fail("cannot create a temporary file next to '" + path +
         "': " + osError(errno));
  auto abandon = [&](int error) {
    if (fd >= 0)
      ::close(fd);
    ::unlink(temporary.c_str());
    fail("cannot write '" + path + "': " + osError(error));
  };
  // mkstemp creates the file 0600; give it the mode of the file it replaces,
  // or the usual 0666 less the umask.
  if (::fchmod(fd, exists ? (st.st_mode & 07777) : newFileMode()) != 0)
    abandon(errno);
  const char *data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      abandon(n < 0 ? errno : EIO);
    data += n;
    left -= size_t(n);
  }
  if (::fsync(fd) != 0)
    abandon(errno);
  int closed = ::close(fd);
  fd = -1;
  if (closed != 0)
    abandon(errno);
  if (beforeRename)
    beforeRename();
  if (::rename(temporary.c_str(), target.c_str()) != 0)
    abandon(errno);
  // The rename is durable once the folder is synced. Some file systems
  // cannot sync a folder (EINVAL); the file is in place all the same.
  std::string folder = folderOf(target);
  int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    fail("wrote '" + path +
         "' but cannot open its folder to sync it: " + osError(errno));
  if (::fsync(dir) != 0 && errno != EINVAL) {
    int error = errno;
    ::close(dir);
    fail("wrote '" + path + "' but cannot sync its folder: " + osError(error));
  }
  ::close(dir);
}
