// teamsop-get-cpp: fetch (or wait for) a Microsoft Teams async operation through
// libteamsop's C++ wrapper (include/teamsop.hpp). The C++ twin of
// examples-c/teamsop-get.c, kept brief.
//
//   TEAMSOP_TOKEN=... teamsop-get-cpp --chat ID --operation ID
//   TEAMSOP_TOKEN=... teamsop-get-cpp --team ID --operation ID
//   TEAMSOP_TOKEN=... teamsop-get-cpp --location "/teams('ID')/operations('OP')" --wait 120
//   TEAMSOP_TOKEN=... teamsop-get-cpp --location ... --wait 3600 --log info
//
// The token is read from the environment (TEAMSOP_TOKEN), never from the command
// line. --log info|debug prints the library's log lines on stderr
// (Client::set_log with a lambda). Ctrl-C during --wait cancels it at once (a
// thread in sigwait() triggers a teamsop::Cancel). Exit status: 0 on success, the
// teamsop::Result of a failure (1 to 12), 20 when the operation read (with or
// without --wait) ended without succeeding ("failed" or "invalid"), as
// teamsop-get does, 64 for a usage error, 130 when Ctrl-C cancelled the wait.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "teamsop.hpp"

namespace {

constexpr int EXIT_OPERATION_FAILED = 20;
constexpr int EXIT_USAGE = 64;
constexpr int EXIT_INTERRUPTED = 128 + SIGINT;

struct Options {
  std::string chat, team, operation, location, base_url;
  std::optional<teamsop::LogLevel> log;
  long wait_seconds = 0;
  long poll_ms = 0;
};

int usage() {
  std::cerr << "usage: teamsop-get-cpp (--chat ID | --team ID) --operation ID [--base-url URL]\n"
               "       teamsop-get-cpp --location LOCATION [--wait SECONDS [--poll-ms MS]] [--base-url URL]\n"
               "       (either form) [--log info|debug]\n"
               "The access token is read from TEAMSOP_TOKEN.\n";
  return EXIT_USAGE;
}

std::optional<long> number(const std::string& text, long max) {
  try {
    std::size_t used = 0;
    long value = std::stol(text, &used);
    if (used == text.size() && value >= 1 && value <= max) {
      return value;
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--chat") {
      o.chat = value;
    } else if (flag == "--team") {
      o.team = value;
    } else if (flag == "--operation") {
      o.operation = value;
    } else if (flag == "--location") {
      o.location = value;
    } else if (flag == "--base-url") {
      o.base_url = value;
    } else if (flag == "--log" && (value == "info" || value == "debug")) {
      o.log = value == "info" ? teamsop::LogLevel::Info : teamsop::LogLevel::Debug;
    } else if (flag == "--wait" || flag == "--poll-ms") {
      auto n = number(value, flag == "--wait" ? 4294967L : 4294967295L);
      if (!n) {
        return std::nullopt;
      }
      (flag == "--wait" ? o.wait_seconds : o.poll_ms) = *n;
    } else {
      return std::nullopt;
    }
  }
  bool by_ids = o.chat.empty() != o.team.empty() && !o.operation.empty() && o.location.empty();
  bool by_location = o.chat.empty() && o.team.empty() && o.operation.empty() && !o.location.empty();
  if (argc % 2 != 1 || !(by_ids || by_location) || (o.wait_seconds > 0 && !by_location) ||
      (o.poll_ms > 0 && o.wait_seconds == 0)) {
    return std::nullopt;
  }
  return o;
}

// While it lives, SIGINT is blocked and a thread waits for it in sigwait() to
// pull `cancel`. Destroyed before the Cancel it was given (sigwait is a
// cancellation point: the thread is stopped and joined).
class CtrlC {
 public:
  explicit CtrlC(const teamsop::Cancel& cancel) {
    sigemptyset(&sigint_);
    sigaddset(&sigint_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigint_, nullptr);
    thread_ = std::thread([&cancel, set = sigint_] {
      int sig = 0;
      if (sigwait(&set, &sig) == 0) {
        cancel.trigger();
      }
    });
  }
  CtrlC(const CtrlC&) = delete;
  CtrlC& operator=(const CtrlC&) = delete;
  ~CtrlC() {
    pthread_cancel(thread_.native_handle());
    thread_.join();
  }

 private:
  sigset_t sigint_;
  std::thread thread_;
};

void row(const char* label, std::optional<std::string_view> value) {
  std::cout << std::left << std::setw(24) << label << ' ' << value.value_or("-") << '\n';
}

void print(const teamsop::Operation& op) {
  row("id", op.id());
  row("status", op.status_str());
  row("operationType", op.type_str());
  row("createdDateTime", op.created_date_time());
  if (auto ms = op.created_unix_ms()) {
    row("createdUnixMs", std::to_string(*ms));
  }
  row("lastActionDateTime", op.last_action_date_time());
  auto attempts = op.attempts_count();
  row("attemptsCount", attempts ? std::optional<std::string>(std::to_string(*attempts)) : std::nullopt);
  row("targetResourceId", op.target_resource_id());
  row("targetResourceLocation", op.target_resource_location());
  row("error", op.error_code());
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Options> o = parse_args(argc, argv);
  if (!o) {
    return usage();
  }
  const char* token = std::getenv("TEAMSOP_TOKEN");
  if (token == nullptr || *token == '\0') {
    std::cerr << "teamsop-get-cpp: set the access token in TEAMSOP_TOKEN\n";
    return EXIT_USAGE;
  }

  try {
    teamsop::Client client(token);
    if (!o->base_url.empty()) {
      client.set_base_url(o->base_url);
    }
    if (o->poll_ms > 0) {
      client.set_poll_interval(std::chrono::milliseconds(o->poll_ms));
    }
    if (o->log) {
      client.set_log(*o->log, [](teamsop::LogLevel, std::string_view line) {
        std::cerr << "teamsop-get-cpp: " << line << '\n';
      });
    }

    teamsop::Operation op;
    if (o->wait_seconds > 0) {
      // Ctrl-C: SIGINT blocked here (threads started later inherit it) and taken
      // by a thread that triggers the cancel; a signal handler may not call the
      // library.
      teamsop::Cancel cancel;
      CtrlC ctrl_c(cancel);
      int polls = 0;
      try {
        op = client.wait(
            o->location, std::chrono::seconds(o->wait_seconds),
            [&polls](const teamsop::OperationView& now) {
              std::cerr << "poll " << ++polls << ": status=" << now.status_str().value_or("-") << '\n';
            },
            cancel);
      } catch (const teamsop::Error& e) {
        if (e.result() == teamsop::Result::Cancelled && cancel.triggered()) {
          std::cerr << "teamsop-get-cpp: interrupted: the wait was cancelled\n";
          return EXIT_INTERRUPTED;
        }
        throw;
      }
    } else if (!o->location.empty()) {
      op = client.get_location(o->location);
    } else if (!o->chat.empty()) {
      op = client.get(o->chat, o->operation);
    } else {
      op = client.get_team_operation(o->team, o->operation);
    }

    print(op);
    const bool not_succeeded = op.status() == teamsop::Status::Failed || op.status() == teamsop::Status::Invalid;
    return not_succeeded ? EXIT_OPERATION_FAILED : 0;
  } catch (const teamsop::Error& e) {
    std::cerr << "teamsop-get-cpp: " << e.what() << '\n';
    if (e.http_status() != 0) {
      std::cerr << "  http status:       " << e.http_status() << '\n';
    }
    if (e.graph_code()) {
      std::cerr << "  graph code:        " << *e.graph_code() << '\n';
    }
    if (e.request_id()) {
      std::cerr << "  request-id:        " << *e.request_id() << '\n';
    }
    if (e.client_request_id()) {
      std::cerr << "  client-request-id: " << *e.client_request_id() << '\n';
    }
    return static_cast<int>(e.result());
  }
}
