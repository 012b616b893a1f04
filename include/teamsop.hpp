/*
 * teamsop.hpp: a header-only C++17 wrapper over libteamsop's C ABI (teamsop.h).
 *
 * Follow Microsoft Teams asynchronous operations through Microsoft Graph:
 *
 *     teamsop::Client client(token);
 *     teamsop::Operation op = client.wait(location, std::chrono::minutes(2),
 *         [](const teamsop::OperationView& now) {
 *           std::cerr << now.status_str().value_or("-") << '\n';  // each poll
 *         });
 *     if (op.status() == teamsop::Status::Succeeded) { ... }
 *
 * What it adds to the C ABI, and nothing more:
 * - Ownership: `Client` and `Operation` own their handles (move-only; the
 *   destructor frees). A moved-from object holds no handle: it is safe to
 *   destroy, assign to, and read (accessors give the "absent" values); a call
 *   through a moved-from `Client` throws `Error` with `Result::InvalidArgument`
 *   (the C layer receives NULL).
 * - Failures: every failing call throws `teamsop::Error` (a std::runtime_error)
 *   carrying the result, the HTTP status, Graph's error code, request-id,
 *   client-request-id and message, copied out of the thread's `teamsop_last_*`
 *   state at the moment of the failure (those C strings only live until the
 *   next failing call). Nothing else is thrown by this wrapper, except
 *   std::bad_alloc and, from `Client::wait`, whatever your callback throws.
 * - Strings: accessors return `std::string_view`s into the operation, valid
 *   while the operation lives (until it is destroyed or assigned to); a field
 *   that is absent or JSON null is `std::nullopt`. Strings passed in are copied
 *   (they need no NUL terminator); one containing a NUL byte is refused with
 *   `Result::InvalidArgument` by the wrapper itself, and nothing is sent.
 * - Durations are std::chrono durations; times are available both as raw Unix
 *   milliseconds and as std::chrono::system_clock::time_point.
 * - Long runs: `Cancel` (a trigger another thread pulls to end a wait at once),
 *   `Client::set_token_provider` (any callable giving a `Token`; tokens renewed
 *   before they expire and after a 401, with the CAE claims) and
 *   `Client::set_log` (any callable receiving the log lines). The Client owns
 *   the callables it is given (moving it keeps them valid), and no exception
 *   they throw ever crosses the C library.
 *
 * Threads: as in C. One `Client` may be used from any number of threads at once,
 * setters included (but not moved, assigned or destroyed while in use). An
 * `Operation` is immutable and may be read from any thread, but not destroyed or
 * assigned to while another thread reads it. Errors are captured on the thread of
 * the failing call, so they are always that call's.
 *
 * Link with -lteamsop (or libteamsop.a -lpthread -ldl -lm).
 */
#ifndef TEAMSOP_HPP
#define TEAMSOP_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "teamsop.h"

namespace teamsop {

// ------------------------------------------------------------------ enums

/// The result of a call, `teamsop_result` value for value. Stable: values are
/// never renumbered. `Ok` is never thrown; every other value is an `Error`'s.
enum class Result : std::uint32_t {
  Ok = 0,               ///< Success.
  InvalidArgument = 1,  ///< NULL/empty/non-UTF-8/NUL-containing argument, bad URL, Location or setting. Nothing was sent.
  Transport = 2,        ///< DNS, connect, TLS, a reset or a truncated body.
  Timeout = 3,          ///< The request timeout, or `Client::wait`'s deadline, passed.
  Unauthorized = 4,     ///< HTTP 401: the token is missing, expired or for another audience.
  Forbidden = 5,        ///< HTTP 403: the token lacks a permission.
  NotFound = 6,         ///< HTTP 404: no such chat, team or operation.
  Throttled = 7,        ///< HTTP 429 still returned after the retries.
  Http = 8,             ///< Any other non-2xx status (after the retries, for 503 and 504).
  Parse = 9,            ///< The body is not a teamsAsyncOperation JSON object.
  TooLarge = 10,        ///< The body is larger than the client's cap.
  Cancelled = 11,       ///< `Client::wait`'s callback asked to stop.
  Internal = 12,        ///< A bug, caught at the boundary; the process is unharmed.
};

/// Graph's teamsAsyncOperationStatus, `teamsop_status` value for value, plus the
/// library's own `Unrecognized` (read `status_str()`) and `Absent`.
enum class Status : std::uint32_t {
  Invalid = 0,             ///< `invalid`
  NotStarted = 1,          ///< `notStarted`
  InProgress = 2,          ///< `inProgress`
  Succeeded = 3,           ///< `succeeded`
  Failed = 4,              ///< `failed`
  UnknownFutureValue = 5,  ///< `unknownFutureValue`
  Unrecognized = 6,        ///< A string this version does not know: read `status_str()`.
  Absent = 7,              ///< Not in the response (null, or left out by `$select`), or no operation.
};

/// Graph's teamsAsyncOperationType (beta), `teamsop_type` value for value, plus
/// `Unrecognized` (read `type_str()`) and `Absent`.
enum class Type : std::uint32_t {
  Invalid = 0,             ///< `invalid`
  CloneTeam = 1,           ///< `cloneTeam`
  ArchiveTeam = 2,         ///< `archiveTeam`
  UnarchiveTeam = 3,       ///< `unarchiveTeam`
  CreateTeam = 4,          ///< `createTeam`
  UnknownFutureValue = 5,  ///< `unknownFutureValue`
  TeamifyGroup = 6,        ///< `teamifyGroup`
  CreateChannel = 7,       ///< `createChannel`
  CreateChat = 8,          ///< `createChat`
  ArchiveChannel = 9,      ///< `archiveChannel`
  UnarchiveChannel = 10,   ///< `unarchiveChannel`
  Unrecognized = 11,       ///< A string this version does not know: read `type_str()`.
  Absent = 12,             ///< Not in the response, or no operation.
};

/// National clouds for `Client::set_cloud`, `teamsop_cloud` value for value.
enum class Cloud : std::uint32_t {
  Global = 0,    ///< https://graph.microsoft.com (the default)
  UsGov = 1,     ///< https://graph.microsoft.us (US Government L4, GCC High)
  UsGovDod = 2,  ///< https://dod-graph.microsoft.us (US Government L5, DoD)
  China = 3,     ///< https://microsoftgraph.chinacloudapi.cn (operated by 21Vianet)
};

/// How much a log line matters (`teamsop_log_level` value for value); a log set
/// for a level gets that level and those above it.
enum class LogLevel : std::uint32_t {
  Error = 1,  ///< A call failed: its result and message.
  Warn = 2,   ///< A retry (429/503/504/reset): status or fault, attempt, pause.
  Info = 3,   ///< Each HTTP request sent: method, URL, status, ms, request-id, client-request-id.
  Debug = 4,  ///< 404 re-polls, connections opened or reused, TLS, proxy, pacing, token renewals.
};

// Each C++ enumerator is the C one: checked here, at compile time.
#define TEAMSOP_HPP_SAME_(cpp, c) \
  static_assert(static_cast<std::uint32_t>(cpp) == static_cast<std::uint32_t>(c), #cpp " != " #c)
TEAMSOP_HPP_SAME_(Result::Ok, TEAMSOP_OK);
TEAMSOP_HPP_SAME_(Result::InvalidArgument, TEAMSOP_ERR_INVALID_ARGUMENT);
TEAMSOP_HPP_SAME_(Result::Transport, TEAMSOP_ERR_TRANSPORT);
TEAMSOP_HPP_SAME_(Result::Timeout, TEAMSOP_ERR_TIMEOUT);
TEAMSOP_HPP_SAME_(Result::Unauthorized, TEAMSOP_ERR_UNAUTHORIZED);
TEAMSOP_HPP_SAME_(Result::Forbidden, TEAMSOP_ERR_FORBIDDEN);
TEAMSOP_HPP_SAME_(Result::NotFound, TEAMSOP_ERR_NOT_FOUND);
TEAMSOP_HPP_SAME_(Result::Throttled, TEAMSOP_ERR_THROTTLED);
TEAMSOP_HPP_SAME_(Result::Http, TEAMSOP_ERR_HTTP);
TEAMSOP_HPP_SAME_(Result::Parse, TEAMSOP_ERR_PARSE);
TEAMSOP_HPP_SAME_(Result::TooLarge, TEAMSOP_ERR_TOO_LARGE);
TEAMSOP_HPP_SAME_(Result::Cancelled, TEAMSOP_ERR_CANCELLED);
TEAMSOP_HPP_SAME_(Result::Internal, TEAMSOP_ERR_INTERNAL);
TEAMSOP_HPP_SAME_(Status::Invalid, TEAMSOP_STATUS_INVALID);
TEAMSOP_HPP_SAME_(Status::NotStarted, TEAMSOP_STATUS_NOT_STARTED);
TEAMSOP_HPP_SAME_(Status::InProgress, TEAMSOP_STATUS_IN_PROGRESS);
TEAMSOP_HPP_SAME_(Status::Succeeded, TEAMSOP_STATUS_SUCCEEDED);
TEAMSOP_HPP_SAME_(Status::Failed, TEAMSOP_STATUS_FAILED);
TEAMSOP_HPP_SAME_(Status::UnknownFutureValue, TEAMSOP_STATUS_UNKNOWN_FUTURE_VALUE);
TEAMSOP_HPP_SAME_(Status::Unrecognized, TEAMSOP_STATUS_UNRECOGNIZED);
TEAMSOP_HPP_SAME_(Status::Absent, TEAMSOP_STATUS_ABSENT);
TEAMSOP_HPP_SAME_(Type::Invalid, TEAMSOP_TYPE_INVALID);
TEAMSOP_HPP_SAME_(Type::CloneTeam, TEAMSOP_TYPE_CLONE_TEAM);
TEAMSOP_HPP_SAME_(Type::ArchiveTeam, TEAMSOP_TYPE_ARCHIVE_TEAM);
TEAMSOP_HPP_SAME_(Type::UnarchiveTeam, TEAMSOP_TYPE_UNARCHIVE_TEAM);
TEAMSOP_HPP_SAME_(Type::CreateTeam, TEAMSOP_TYPE_CREATE_TEAM);
TEAMSOP_HPP_SAME_(Type::UnknownFutureValue, TEAMSOP_TYPE_UNKNOWN_FUTURE_VALUE);
TEAMSOP_HPP_SAME_(Type::TeamifyGroup, TEAMSOP_TYPE_TEAMIFY_GROUP);
TEAMSOP_HPP_SAME_(Type::CreateChannel, TEAMSOP_TYPE_CREATE_CHANNEL);
TEAMSOP_HPP_SAME_(Type::CreateChat, TEAMSOP_TYPE_CREATE_CHAT);
TEAMSOP_HPP_SAME_(Type::ArchiveChannel, TEAMSOP_TYPE_ARCHIVE_CHANNEL);
TEAMSOP_HPP_SAME_(Type::UnarchiveChannel, TEAMSOP_TYPE_UNARCHIVE_CHANNEL);
TEAMSOP_HPP_SAME_(Type::Unrecognized, TEAMSOP_TYPE_UNRECOGNIZED);
TEAMSOP_HPP_SAME_(Type::Absent, TEAMSOP_TYPE_ABSENT);
TEAMSOP_HPP_SAME_(Cloud::Global, TEAMSOP_CLOUD_GLOBAL);
TEAMSOP_HPP_SAME_(Cloud::UsGov, TEAMSOP_CLOUD_US_GOV);
TEAMSOP_HPP_SAME_(Cloud::UsGovDod, TEAMSOP_CLOUD_US_GOV_DOD);
TEAMSOP_HPP_SAME_(Cloud::China, TEAMSOP_CLOUD_CHINA);
TEAMSOP_HPP_SAME_(LogLevel::Error, TEAMSOP_LOG_ERROR);
TEAMSOP_HPP_SAME_(LogLevel::Warn, TEAMSOP_LOG_WARN);
TEAMSOP_HPP_SAME_(LogLevel::Info, TEAMSOP_LOG_INFO);
TEAMSOP_HPP_SAME_(LogLevel::Debug, TEAMSOP_LOG_DEBUG);
#undef TEAMSOP_HPP_SAME_

// ------------------------------------------------------------------ library

/// The library's version, "MAJOR.MINOR.PATCH". A view of a static string.
/// Thread-safe; never throws.
inline std::string_view version() noexcept { return teamsop_version(); }

/// The name of a result, e.g. "TEAMSOP_ERR_NOT_FOUND"; a value outside the enum
/// gives "TEAMSOP_ERR_UNKNOWN". A view of a static string. Thread-safe; never throws.
inline std::string_view to_string(Result result) noexcept {
  return teamsop_result_str(static_cast<std::uint32_t>(result));
}

// ------------------------------------------------------------------ errors

/// A failed call. Thrown by every `Client` and `Operation` function that can fail.
///
/// Its fields are copies, taken on the failing thread right after the failure,
/// of `teamsop_last_*`, so they stay valid however many calls follow. `what()`
/// is "RESULT_NAME: message", e.g. "TEAMSOP_ERR_NOT_FOUND: ...". The message
/// never contains the access token. Copying an Error never throws (the details
/// are shared, immutable).
class Error : public std::runtime_error {
 public:
  /// An error with the given fields (what the wrapper itself uses for
  /// arguments it refuses before calling the library; you rarely need it).
  Error(Result result, std::int32_t http_status, std::string message,
        std::optional<std::string> graph_code = std::nullopt,
        std::optional<std::string> request_id = std::nullopt,
        std::optional<std::string> client_request_id = std::nullopt)
      : std::runtime_error(std::string(to_string(result)) + ": " + message),
        details_(std::make_shared<const Details>(Details{result, http_status, std::move(message),
                                                         std::move(graph_code), std::move(request_id),
                                                         std::move(client_request_id)})) {}

  /// Captures this thread's `teamsop_last_*` state as an Error with `result`.
  /// Call it right after the failing C call, on the same thread, before any
  /// other libteamsop call can fail. Throws only std::bad_alloc.
  static Error from_last_error(Result result) {
    return Error(result, teamsop_last_http_status(), copy(teamsop_last_error_message()).value_or(""),
                 copy(teamsop_last_graph_code()), copy(teamsop_last_request_id()),
                 copy(teamsop_last_client_request_id()));
  }

  /// What failed (never `Result::Ok`).
  Result result() const noexcept { return details_->result; }
  /// The HTTP status of the last response received during the failing call
  /// (200 after a `Result::Parse` of a 200 body); 0 when none was received.
  std::int32_t http_status() const noexcept { return details_->http_status; }
  /// Graph's `error.code`, e.g. "NotFound", when the answer carried one.
  const std::optional<std::string>& graph_code() const noexcept { return details_->graph_code; }
  /// Graph's `request-id` of the last response (header or `innerError`), if any.
  const std::optional<std::string>& request_id() const noexcept { return details_->request_id; }
  /// The `client-request-id` the failing call sent, if it sent a request.
  const std::optional<std::string>& client_request_id() const noexcept {
    return details_->client_request_id;
  }
  /// The library's message (without the result name `what()` starts with).
  const std::string& message() const noexcept { return details_->message; }

 private:
  struct Details {
    Result result;
    std::int32_t http_status;
    std::string message;
    std::optional<std::string> graph_code;
    std::optional<std::string> request_id;
    std::optional<std::string> client_request_id;
  };

  static std::optional<std::string> copy(const char* text) {
    if (text == nullptr) {
      return std::nullopt;
    }
    return std::string(text);
  }

  std::shared_ptr<const Details> details_;
};

/// Implementation details of the wrapper; not part of its API.
namespace detail {

/// Throws the thread's last error as an Error when `result` is not OK.
inline void check(teamsop_result result) {
  if (result != TEAMSOP_OK) {
    throw Error::from_last_error(static_cast<Result>(result));
  }
}

/// A NUL-terminated copy of `text`; Error(InvalidArgument) if it holds a NUL
/// byte (C would silently read only up to it). `what` names the argument.
inline std::string c_string(std::string_view text, const char* what) {
  if (text.find('\0') != std::string_view::npos) {
    throw Error(Result::InvalidArgument, 0, std::string(what) + " contains a NUL byte");
  }
  return std::string(text);
}

/// A duration as the C layer's uint32_t milliseconds. Negative or above
/// UINT32_MAX ms is Error(InvalidArgument) (never truncated); 0 goes through,
/// for the library to judge.
inline std::uint32_t to_u32_ms(std::chrono::milliseconds duration, const char* what) {
  auto ms = duration.count();
  if (ms < 0 || static_cast<std::uint64_t>(ms) > std::numeric_limits<std::uint32_t>::max()) {
    throw Error(Result::InvalidArgument, 0,
                std::string(what) + " is out of range (0 to 4294967295 ms): " + std::to_string(ms) + " ms");
  }
  return static_cast<std::uint32_t>(ms);
}

/// A C string from an accessor as a view; NULL (absent) as nullopt.
inline std::optional<std::string_view> view(const char* text) noexcept {
  if (text == nullptr) {
    return std::nullopt;
  }
  return std::string_view(text);
}

/// A `*_unix_ms` value; TEAMSOP_NO_TIME as nullopt.
inline std::optional<std::int64_t> unix_ms(std::int64_t ms) noexcept {
  if (ms == TEAMSOP_NO_TIME) {
    return std::nullopt;
  }
  return ms;
}

/// A `*_unix_ms` value as a system_clock time point (whose epoch is the Unix
/// epoch); nullopt for TEAMSOP_NO_TIME and for times system_clock cannot hold.
inline std::optional<std::chrono::system_clock::time_point> time_point(std::int64_t ms) noexcept {
  using std::chrono::system_clock;
  constexpr auto max_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(system_clock::duration::max()).count();
  constexpr auto min_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(system_clock::duration::min()).count();
  if (ms == TEAMSOP_NO_TIME || ms > max_ms || ms < min_ms) {
    return std::nullopt;
  }
  return system_clock::time_point(
      std::chrono::duration_cast<system_clock::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace detail

// ------------------------------------------------------------------ long runs

/// What a token provider (`Client::set_token_provider`) gives: the access token
/// and, when known, when it expires. A token with no expiry is renewed only
/// after a 401; one that expires within 5 minutes is renewed before the next
/// request (at most once per request).
struct Token {
  /// The bearer token: visible ASCII (0x21-0x7E), not empty, under 16384 bytes.
  std::string value;
  /// When it expires; nullopt when unknown.
  std::optional<std::chrono::system_clock::time_point> expires;
};

/// A cancellation trigger (`teamsop_cancel`), owning its handle. Pull it from
/// any thread with `trigger()`: a `Client::wait` given it ends within 100 ms
/// with `Result::Cancelled`, wherever it is (in a GET, in a retry's pause,
/// between polls); a wait started with it already triggered sends nothing. Once
/// triggered it stays triggered: make a new one for the next wait.
///
/// Move-only; a moved-from Cancel is empty: `trigger()` does nothing,
/// `triggered()` is false, and a wait given it throws `Result::InvalidArgument`.
/// Not to be destroyed (or assigned to) while a wait uses it or another thread
/// may still trigger it.
class Cancel {
 public:
  /// A trigger not yet pulled. Throws std::bad_alloc when out of memory.
  Cancel() : cancel_(teamsop_cancel_new()) {
    if (cancel_ == nullptr) {
      throw std::bad_alloc();
    }
  }
  Cancel(const Cancel&) = delete;
  Cancel& operator=(const Cancel&) = delete;
  /// Takes `other`'s trigger; `other` is left empty.
  Cancel(Cancel&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  /// Frees the trigger held, then takes `other`'s; `other` is left empty.
  Cancel& operator=(Cancel&& other) noexcept {
    if (this != &other) {
      teamsop_cancel_free(cancel_);
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }
  /// Frees the trigger (`teamsop_cancel_free`).
  ~Cancel() { teamsop_cancel_free(cancel_); }

  /// Pulls the trigger: every wait using it ends with `Result::Cancelled` at
  /// once. Any thread, any number of times; never throws. Not async-signal-safe:
  /// from a signal, hand it to a thread (e.g. one in `sigwait`) that calls this.
  void trigger() const noexcept { teamsop_cancel_trigger(cancel_); }
  /// Whether `trigger()` was called. Any thread.
  bool triggered() const noexcept { return teamsop_cancel_is_triggered(cancel_); }
  /// The C handle (NULL when empty), still owned by this Cancel.
  teamsop_cancel* handle() const noexcept { return cancel_; }
  /// True when this holds a trigger (false once moved from).
  explicit operator bool() const noexcept { return cancel_ != nullptr; }

 private:
  teamsop_cancel* cancel_ = nullptr;
};

namespace detail {

/// The exception a token provider threw on this thread, kept until the call
/// that asked for the token returns (the provider runs on the thread of that
/// call, inside the C library, which no exception may cross).
inline std::exception_ptr& provider_exception() noexcept {
  static thread_local std::exception_ptr pending;
  return pending;
}

/// Overwrites a token's bytes before its memory goes back to the allocator.
inline void wipe(std::string& text) noexcept {
  volatile char* bytes = text.data();
  for (std::size_t i = 0; i < text.size(); i++) {
    bytes[i] = 0;
  }
}

/// The end of a fetch through the C ABI: when a token provider threw during it
/// and the call failed for want of a token, a teamsop::Error with
/// `Result::Unauthorized` and the exception's message, the exception nested
/// in it (std::rethrow_if_nested gives it back); otherwise `check(result)`. An
/// exception of a provider whose failure did not fail the call (a renewal
/// before expiry, when the token in hand still worked) is dropped.
inline void finish(teamsop_result result) {
  std::exception_ptr thrown = std::exchange(provider_exception(), nullptr);
  if (thrown == nullptr || result != TEAMSOP_ERR_UNAUTHORIZED) {
    check(result);
    return;
  }
  Error last = Error::from_last_error(Result::Unauthorized);
  auto failure = [&last](std::string message) {
    return Error(Result::Unauthorized, last.http_status(), std::move(message), last.graph_code(),
                 last.request_id(), last.client_request_id());
  };
  try {
    std::rethrow_exception(thrown);
  } catch (const std::exception& e) {
    std::throw_with_nested(failure(std::string("the token provider threw: ") + e.what()));
  } catch (...) {
    std::throw_with_nested(failure("the token provider threw an exception"));
  }
}

/// Clears what an earlier call on this thread may have left (a provider called
/// by a C function called directly), so it is not taken for this call's.
inline void start_call() noexcept { provider_exception() = nullptr; }

/// A token provider of any callable type, behind one interface.
struct TokenSource {
  virtual ~TokenSource() = default;
  virtual Token token(std::optional<std::string_view> claims) = 0;
};

template <typename F>
struct TokenSourceOf final : TokenSource {
  explicit TokenSourceOf(F f) : fn(std::move(f)) {}
  Token token(std::optional<std::string_view> claims) override { return std::invoke(fn, claims); }
  F fn;
};

/// The teamsop_token_fn of every C++ provider. A token that does not fit is
/// handed over without its NUL, and a NUL byte inside one as DEL, so that the
/// library refuses it with its own message (never quoting it).
inline bool token_trampoline(void* user_data, const char* claims, char* buf, std::size_t buf_len,
                             std::int64_t* expires_unix_ms) noexcept {
  try {
    Token t = static_cast<TokenSource*>(user_data)->token(
        claims != nullptr ? std::optional<std::string_view>(claims) : std::nullopt);
    std::size_t n = t.value.size() < buf_len ? t.value.size() : buf_len;
    for (std::size_t i = 0; i < n; i++) {
      buf[i] = t.value[i] == '\0' ? '\x7f' : t.value[i];
    }
    if (n < buf_len) {
      buf[n] = '\0';
    }
    *expires_unix_ms = TEAMSOP_NO_TIME;
    if (t.expires) {
      *expires_unix_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(t.expires->time_since_epoch()).count();
    }
    wipe(t.value);
    return true;
  } catch (...) {
    provider_exception() = std::current_exception();
    return false;
  }
}

/// A log sink of any callable type, behind one interface.
struct LogSink {
  virtual ~LogSink() = default;
  virtual void line(LogLevel level, std::string_view text) = 0;
};

template <typename F>
struct LogSinkOf final : LogSink {
  explicit LogSinkOf(F f) : fn(std::move(f)) {}
  void line(LogLevel level, std::string_view text) override { std::invoke(fn, level, text); }
  F fn;
};

/// The teamsop_log_fn of every C++ sink. A line cannot fail a call: what the
/// sink throws is caught and dropped here.
inline void log_trampoline(void* user_data, teamsop_log_level level, const char* line) noexcept {
  try {
    static_cast<LogSink*>(user_data)->line(static_cast<LogLevel>(level),
                                           line != nullptr ? std::string_view(line) : std::string_view());
  } catch (...) {
  }
}

/// The callables a Client was given, owned by it. Those replaced stay alive
/// until the Client is destroyed: calls already under way on other threads
/// keep the provider and log they started with.
struct Callables {
  std::mutex lock;
  std::vector<std::unique_ptr<TokenSource>> providers;
  std::vector<std::unique_ptr<LogSink>> sinks;
};

}  // namespace detail

// ------------------------------------------------------------------ operations

/// The read accessors shared by `Operation` (owning) and `OperationView`
/// (borrowed); take a `const OperationReader&` to accept either. Not created on
/// its own. Every accessor is noexcept, works on an empty object (giving
/// `std::nullopt`, `Status::Absent`, `Type::Absent`, `false` or `""`), and
/// returns views that live as long as the underlying operation. Reading from
/// several threads at once is safe.
class OperationReader {
 public:
  /// The C handle (NULL when empty); still owned by this object or its owner.
  const teamsop_operation* handle() const noexcept { return op_; }
  /// True when this refers to an operation.
  explicit operator bool() const noexcept { return op_ != nullptr; }

  /// `id`, or nullopt when absent or null.
  std::optional<std::string_view> id() const noexcept { return detail::view(teamsop_operation_id(op_)); }
  /// `status` as an enum (`Unrecognized` for a string this version does not know, `Absent` when absent).
  Status status() const noexcept { return static_cast<Status>(teamsop_operation_status(op_)); }
  /// `status` as sent (e.g. "inProgress"), or nullopt when absent.
  std::optional<std::string_view> status_str() const noexcept {
    return detail::view(teamsop_operation_status_str(op_));
  }
  /// `operationType` as an enum (`Unrecognized` / `Absent` as for `status()`).
  Type type() const noexcept { return static_cast<Type>(teamsop_operation_type(op_)); }
  /// `operationType` as sent (e.g. "createChat"), or nullopt when absent.
  std::optional<std::string_view> type_str() const noexcept {
    return detail::view(teamsop_operation_type_str(op_));
  }
  /// `createdDateTime` as sent (ISO 8601), or nullopt when absent.
  std::optional<std::string_view> created_date_time() const noexcept {
    return detail::view(teamsop_operation_created_date_time(op_));
  }
  /// `lastActionDateTime` as sent (ISO 8601), or nullopt when absent.
  std::optional<std::string_view> last_action_date_time() const noexcept {
    return detail::view(teamsop_operation_last_action_date_time(op_));
  }
  /// `createdDateTime` in milliseconds since 1970-01-01T00:00:00Z (offsets
  /// applied, sub-millisecond digits truncated), or nullopt when absent or unparseable.
  std::optional<std::int64_t> created_unix_ms() const noexcept {
    return detail::unix_ms(teamsop_operation_created_unix_ms(op_));
  }
  /// `lastActionDateTime` in Unix milliseconds, as `created_unix_ms()`.
  std::optional<std::int64_t> last_action_unix_ms() const noexcept {
    return detail::unix_ms(teamsop_operation_last_action_unix_ms(op_));
  }
  /// `created_unix_ms()` as a system_clock time point; nullopt also when the
  /// time lies outside what system_clock can hold (with a nanosecond clock,
  /// before 1677 or after 2262: read `created_unix_ms()` then).
  std::optional<std::chrono::system_clock::time_point> created_time() const noexcept {
    return detail::time_point(teamsop_operation_created_unix_ms(op_));
  }
  /// `last_action_unix_ms()` as a system_clock time point, as `created_time()`.
  std::optional<std::chrono::system_clock::time_point> last_action_time() const noexcept {
    return detail::time_point(teamsop_operation_last_action_unix_ms(op_));
  }
  /// `attemptsCount`, or nullopt when absent or null.
  std::optional<std::int32_t> attempts_count() const noexcept {
    std::int32_t count = teamsop_operation_attempts_count(op_);
    if (count < 0) {
      return std::nullopt;
    }
    return count;
  }
  /// `targetResourceId` (a chat id or a team id), or nullopt.
  std::optional<std::string_view> target_resource_id() const noexcept {
    return detail::view(teamsop_operation_target_resource_id(op_));
  }
  /// `targetResourceLocation` (an opaque relative path), or nullopt.
  std::optional<std::string_view> target_resource_location() const noexcept {
    return detail::view(teamsop_operation_target_resource_location(op_));
  }
  /// The `values` string as sent (itself a JSON document), or nullopt.
  std::optional<std::string_view> values() const noexcept {
    return detail::view(teamsop_operation_values(op_));
  }
  /// `error.code`, or nullopt when `error` or its code is null or absent.
  std::optional<std::string_view> error_code() const noexcept {
    return detail::view(teamsop_operation_error_code(op_));
  }
  /// `error.message`, or nullopt when `error` or its message is null or absent.
  std::optional<std::string_view> error_message() const noexcept {
    return detail::view(teamsop_operation_error_message(op_));
  }
  /// `@odata.context`, or nullopt.
  std::optional<std::string_view> odata_context() const noexcept {
    return detail::view(teamsop_operation_odata_context(op_));
  }
  /// The whole response body as received (UTF-8 JSON), for fields not
  /// modelled; "" only when empty. `Operation::parse(json())` makes an owned copy.
  std::string_view json() const noexcept {
    const char* body = teamsop_operation_json(op_);
    return body == nullptr ? std::string_view() : std::string_view(body);
  }
  /// True when the status is terminal (succeeded, failed or invalid); false
  /// otherwise and when empty.
  bool is_terminal() const noexcept { return teamsop_operation_is_terminal(op_); }

 protected:
  OperationReader() noexcept = default;
  explicit OperationReader(const teamsop_operation* op) noexcept : op_(op) {}
  OperationReader(const OperationReader&) noexcept = default;
  OperationReader& operator=(const OperationReader&) noexcept = default;
  ~OperationReader() = default;

  const teamsop_operation* op_ = nullptr;
};

/// A borrowed, read-only view of an operation owned elsewhere: the operation
/// `Client::wait` hands its callback, or `Operation::view()`.
///
/// Cheap to copy; never frees anything. Valid only while the operation it views
/// lives: in a wait callback, for the duration of the call only (to keep the
/// operation, make an owned copy with `Operation::parse(view.json())`). All the
/// accessors of `OperationReader` apply; none throws.
class OperationView : public OperationReader {
 public:
  /// An empty view (reads as absent).
  OperationView() noexcept = default;
  /// A view of `op` (may be NULL), which stays owned by its owner.
  explicit OperationView(const teamsop_operation* op) noexcept : OperationReader(op) {}
  OperationView(const OperationView&) noexcept = default;
  OperationView& operator=(const OperationView&) noexcept = default;
  ~OperationView() = default;
};

/// One teamsAsyncOperation as received, owning its `teamsop_operation` (freed by
/// the destructor). Move-only; a moved-from Operation is empty.
///
/// Immutable: may be read from any thread at once, but not destroyed or assigned
/// to while another thread reads it. The string views its accessors return live
/// until then. All the accessors of `OperationReader` apply; none throws.
class Operation : public OperationReader {
 public:
  /// An empty operation (reads as absent).
  Operation() noexcept = default;
  /// Takes ownership of `owned` (may be NULL), a handle from this library that
  /// nothing else will free.
  explicit Operation(teamsop_operation* owned) noexcept : OperationReader(owned) {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  /// Takes `other`'s operation; `other` is left empty.
  Operation(Operation&& other) noexcept : OperationReader(other.op_) { other.op_ = nullptr; }
  /// Frees the operation held, then takes `other`'s; `other` is left empty.
  /// Self-assignment is a no-op.
  Operation& operator=(Operation&& other) noexcept {
    if (this != &other) {
      teamsop_free(mutable_handle());
      op_ = other.op_;
      other.op_ = nullptr;
    }
    return *this;
  }
  /// Frees the operation (`teamsop_free`), if any.
  ~Operation() { teamsop_free(mutable_handle()); }

  /// Parses a response body already in hand; no network. Reads exactly
  /// `json.size()` bytes (no NUL needed; an empty view is a parse error).
  /// Throws Error: `Result::Parse` for an empty buffer, bytes that are not
  /// UTF-8, JSON that is not an object, a known field of the wrong type, or a
  /// string field holding U+0000. Unknown fields are kept in `json()`. Thread-safe.
  static Operation parse(std::string_view json) {
    teamsop_operation* out = nullptr;
    // A default string_view has a null data(): C would call that an invalid
    // argument, while an empty buffer is a parse error. Keep it a parse error.
    const char* bytes = json.data() != nullptr ? json.data() : "";
    detail::check(teamsop_parse(bytes, json.size(), &out));
    return Operation(out);
  }

  /// A borrowed view of this operation, valid while this Operation holds it.
  OperationView view() const& noexcept { return OperationView(op_); }
  /// Not on a temporary: the view would dangle at once.
  OperationView view() const&& = delete;

  /// Gives up ownership: returns the handle (free it with `teamsop_free`) and
  /// leaves this Operation empty.
  teamsop_operation* release() noexcept {
    teamsop_operation* op = mutable_handle();
    op_ = nullptr;
    return op;
  }

 private:
  // The base keeps a const pointer for views; an Operation owns its handle,
  // which came to it non-const.
  teamsop_operation* mutable_handle() const noexcept { return const_cast<teamsop_operation*>(op_); }
};

// ------------------------------------------------------------------ client

/// A Graph client (`teamsop_client`): token, base URL, timeouts, retries and a
/// connection pool. Owns its handle (freed, connections closed, by the
/// destructor). Move-only; a moved-from Client is empty, and any call through it
/// throws Error with `Result::InvalidArgument`.
///
/// Threads: every member function except move, assignment and destruction may
/// be called from any number of threads at once on one Client, the setters
/// included (a setting applies to requests that start after it returns).
/// Operations obtained from a Client are independent of it and outlive it.
///
/// Errors: each function that can fail throws `teamsop::Error`; see the Result
/// values each one names. Creating a client does no I/O.
class Client {
 public:
  /// A client with no token yet (set one with `set_token` before fetching).
  /// Defaults: global cloud, base URL https://graph.microsoft.com/beta, 30 s
  /// request timeout, 3 retries, 1 MiB body cap, 1 s first poll interval.
  /// Throws Error only if the library cannot create one.
  Client() : callables_(std::make_unique<detail::Callables>()), client_(teamsop_client_new(nullptr)) {
    if (client_ == nullptr) {
      throw Error::from_last_error(Result::Internal);
    }
  }

  /// A client with `access_token` (copied; sent only to the configured Graph
  /// host, never in any message). Defaults as `Client()`. Throws Error
  /// `Result::InvalidArgument` for an empty or non-UTF-8 token, or one with
  /// characters an HTTP header cannot carry.
  explicit Client(std::string_view access_token) : callables_(std::make_unique<detail::Callables>()) {
    std::string token = detail::c_string(access_token, "the access token");
    client_ = teamsop_client_new(token.c_str());
    if (client_ == nullptr) {
      throw Error::from_last_error(Result::InvalidArgument);
    }
  }

  /// Takes ownership of `owned` (may be NULL: an empty Client), a handle from
  /// `teamsop_client_new` that nothing else will free.
  static Client adopt(teamsop_client* owned) noexcept { return Client(owned, Adopt{}); }

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  /// Takes `other`'s client, with the token provider and log it was given
  /// (they stay where they are: the library keeps calling them); `other` is
  /// left empty.
  Client(Client&& other) noexcept
      : callables_(std::move(other.callables_)), client_(std::exchange(other.client_, nullptr)) {}
  /// Frees the client held (and then the callables it was given), then takes
  /// `other`'s; `other` is left empty. Self-assignment is a no-op. No other
  /// thread may be using either.
  Client& operator=(Client&& other) noexcept {
    if (this != &other) {
      teamsop_client_free(client_);
      client_ = std::exchange(other.client_, nullptr);
      callables_ = std::move(other.callables_);
    }
    return *this;
  }
  /// Frees the client and closes its connections (`teamsop_client_free`), then
  /// the token provider and log callables it was given. No other thread may be
  /// using it.
  ~Client() { teamsop_client_free(client_); }

  /// The C handle (NULL when empty), still owned by this Client.
  teamsop_client* handle() const noexcept { return client_; }
  /// True when this holds a client (false once moved from or released).
  explicit operator bool() const noexcept { return client_ != nullptr; }
  /// Gives up ownership: returns the handle (free it with
  /// `teamsop_client_free`) and leaves this Client empty.
  teamsop_client* release() noexcept { return std::exchange(client_, nullptr); }

  // ---------------------------------------------------------------- settings
  // Each returns *this for chaining and throws Error on refusal (the setting is
  // then unchanged). All are thread-safe.

  /// Sets the bearer token (copied) for requests that start after this call.
  /// Throws `InvalidArgument` for an empty or non-UTF-8 token or one with
  /// characters an HTTP header cannot carry.
  Client& set_token(std::string_view access_token) {
    std::string token = detail::c_string(access_token, "the access token");
    detail::check(teamsop_client_set_token(client_, token.c_str()));
    return *this;
  }
  /// Clears the token: later fetches throw `InvalidArgument` until one is set.
  Client& clear_token() {
    detail::check(teamsop_client_set_token(client_, nullptr));
    return *this;
  }
  /// Targets a national cloud's beta endpoint. `InvalidArgument` for a value
  /// outside `Cloud`.
  Client& set_cloud(Cloud cloud) {
    detail::check(teamsop_client_set_cloud(client_, static_cast<std::uint32_t>(cloud)));
    return *this;
  }
  /// Targets `base_url`, e.g. "https://graph.microsoft.us/beta": `https://`,
  /// or `http://` on a loopback host; no user info, query or fragment.
  /// `InvalidArgument` for a refused URL.
  Client& set_base_url(std::string_view base_url) {
    std::string url = detail::c_string(base_url, "the base URL");
    detail::check(teamsop_client_set_base_url(client_, url.c_str()));
    return *this;
  }
  /// Bounds each whole fetch, retries and their waits included (default 30 s).
  /// Any duration that converts to milliseconds without loss is accepted
  /// (e.g. std::chrono::seconds). `InvalidArgument` for 0, a negative value, or
  /// more than 4294967295 ms.
  Client& set_timeout(std::chrono::milliseconds timeout) {
    detail::check(teamsop_client_set_timeout_ms(client_, detail::to_u32_ms(timeout, "the timeout")));
    return *this;
  }
  /// How many times a GET answered 429, 503, 504, or reset before any response
  /// byte, is tried again (0 to 10; default 3). `InvalidArgument` above 10.
  Client& set_max_retries(std::uint32_t max_retries) {
    detail::check(teamsop_client_set_max_retries(client_, max_retries));
    return *this;
  }
  /// Caps the size of a response body (default 1 MiB); a larger one fails
  /// with `TooLarge`. `InvalidArgument` for 0.
  Client& set_max_body_bytes(std::size_t max_bytes) {
    detail::check(teamsop_client_set_max_body_bytes(client_, max_bytes));
    return *this;
  }
  /// The first pause between two polls of `wait` (default 1 s); pauses then
  /// double up to 10 s. `InvalidArgument` for 0, negative, or more than
  /// 4294967295 ms.
  Client& set_poll_interval(std::chrono::milliseconds first_interval) {
    detail::check(teamsop_client_set_poll_interval_ms(
        client_, detail::to_u32_ms(first_interval, "the poll interval")));
    return *this;
  }
  /// Trusts the certificates of a PEM file as well as the system's roots. The
  /// file is read and checked now. `InvalidArgument` for a file that is
  /// missing, unreadable, or holds no certificate.
  Client& set_ca_file(std::string_view pem_path) {
    std::string path = detail::c_string(pem_path, "the CA file path");
    detail::check(teamsop_client_set_ca_file(client_, path.c_str()));
    return *this;
  }
  /// Sets the OData `$select` of every GET, e.g. "status,error"; "" clears it.
  /// Fields selected out read as absent. `InvalidArgument` for characters
  /// other than letters, digits, `,` `.` `_` `/` `@`.
  Client& set_select(std::string_view fields) {
    std::string text = detail::c_string(fields, "the $select fields");
    detail::check(teamsop_client_set_select(client_, text.c_str()));
    return *this;
  }
  /// Clears the `$select`.
  Client& clear_select() {
    detail::check(teamsop_client_set_select(client_, nullptr));
    return *this;
  }

  /// Sets the token provider: any callable taking
  /// `std::optional<std::string_view> claims` and returning a `Token` (a lambda,
  /// a function, a functor), moved or copied into this Client, which keeps it
  /// (moving the Client keeps it valid). It is asked for a token on the thread
  /// of the call that needs one: before a request when there is no token or
  /// the last one it gave expires within 5 minutes, and once after a 401 (the
  /// request is then sent once more). `claims` is then the decoded claims
  /// challenge of continuous access evaluation, a JSON object to hand to the
  /// identity platform (MSAL's `WithClaims`), or nullopt. Never called twice at
  /// once for this Client. It may call this Client (a call it makes uses the
  /// token already set).
  ///
  /// A token it gives that is empty, has a byte outside visible ASCII or does
  /// not fit in 16383 bytes fails the call with `Result::Unauthorized` and a
  /// message saying so (never quoting it). If it throws, the exception is
  /// caught before it can reach the C library; the call that asked fails with
  /// an Error of `Result::Unauthorized` whose message is "the token provider
  /// threw: " and the exception's `what()`, the exception nested in it
  /// (`std::rethrow_if_nested`); other calls waiting for that answer fail with
  /// `Result::Unauthorized` too. (A renewal before expiry that fails while the
  /// token in hand still works does not fail the call.) A token set with
  /// `set_token` is used until a 401 has it renewed.
  ///
  /// Replacing the provider while other threads are in calls: those calls may
  /// still use the previous one, which this Client keeps until it is destroyed.
  /// Throws `InvalidArgument` for an empty Client. Thread-safe.
  template <typename F>
  Client& set_token_provider(F&& provider) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_r_v<Token, Fn&, std::optional<std::string_view>>,
                  "teamsop::Client::set_token_provider: the provider must be callable with "
                  "(std::optional<std::string_view> claims) and return a teamsop::Token");
    auto source = std::make_unique<detail::TokenSourceOf<Fn>>(Fn(std::forward<F>(provider)));
    std::lock_guard<std::mutex> guard(callables().lock);
    callables_->providers.reserve(callables_->providers.size() + 1);
    detail::check(teamsop_client_set_token_provider(client_, &detail::token_trampoline, source.get()));
    callables_->providers.push_back(std::move(source));
    return *this;
  }
  /// Removes the token provider; the last token it gave stays set until
  /// replaced. Throws `InvalidArgument` for an empty Client.
  Client& clear_token_provider() {
    detail::check(teamsop_client_set_token_provider(client_, nullptr, nullptr));
    return *this;
  }

  /// Sends the log lines up to `max_level` to `sink`: any callable taking
  /// `(teamsop::LogLevel, std::string_view line)`, kept by this Client as
  /// `set_token_provider` keeps a provider. It replaces `TEAMSOP_LOG`'s stderr
  /// lines. Each line is one line, without a newline, valid during the call;
  /// it never holds the token. Called on the thread of the call a line
  /// describes; it may call into the library. What it throws is caught and
  /// dropped (a log line cannot fail a call). Throws `InvalidArgument` for a
  /// level outside `LogLevel` or an empty Client (the setting is then
  /// unchanged). Thread-safe.
  template <typename F>
  Client& set_log(LogLevel max_level, F&& sink) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_v<Fn&, LogLevel, std::string_view>,
                  "teamsop::Client::set_log: the sink must be callable with "
                  "(teamsop::LogLevel, std::string_view)");
    auto holder = std::make_unique<detail::LogSinkOf<Fn>>(Fn(std::forward<F>(sink)));
    std::lock_guard<std::mutex> guard(callables().lock);
    callables_->sinks.reserve(callables_->sinks.size() + 1);
    detail::check(teamsop_client_set_log(client_, static_cast<std::uint32_t>(max_level),
                                         &detail::log_trampoline, holder.get()));
    callables_->sinks.push_back(std::move(holder));
    return *this;
  }
  /// Turns logging off for this Client, `TEAMSOP_LOG` included. Throws
  /// `InvalidArgument` for an empty Client.
  Client& set_log_off() {
    detail::check(teamsop_client_set_log(client_, TEAMSOP_LOG_ERROR, nullptr, nullptr));
    return *this;
  }

  // ---------------------------------------------------------------- fetching
  // Each blocks until done or the client timeout passes, and returns a new
  // Operation owned by the caller. Errors (as Error::result()): InvalidArgument
  // (empty client, an id that is empty, ".", ".." or holds a NUL, no token set:
  // nothing is sent), then Transport, Timeout, Unauthorized, Forbidden,
  // NotFound, Throttled, Http, Parse, TooLarge. Thread-safe.

  /// `GET {base}/chats/{chat_id}/operations/{operation_id}`; each id is sent
  /// percent-encoded as exactly one path segment.
  Operation get(std::string_view chat_id, std::string_view operation_id) const {
    std::string chat = detail::c_string(chat_id, "the chat id");
    std::string op = detail::c_string(operation_id, "the operation id");
    teamsop_operation* out = nullptr;
    detail::start_call();
    detail::finish(teamsop_get(client_, chat.c_str(), op.c_str(), &out));
    return Operation(out);
  }

  /// `GET {base}/teams/{team_id}/operations/{operation_id}`, as `get`.
  Operation get_team_operation(std::string_view team_id, std::string_view operation_id) const {
    std::string team = detail::c_string(team_id, "the team id");
    std::string op = detail::c_string(operation_id, "the operation id");
    teamsop_operation* out = nullptr;
    detail::start_call();
    detail::finish(teamsop_get_team_operation(client_, team.c_str(), op.c_str(), &out));
    return Operation(out);
  }

  /// GETs the operation a 202 answer's `Location` header names (every form
  /// `teamsop_get_location` takes: "/teams('ID')/operations('OP')", the chat
  /// form, "(ID)", "/teams/ID/operations/OP", with a version segment, or an
  /// absolute URL on the client's own scheme, host and port). Anything else is
  /// `InvalidArgument`, and nothing is sent. Otherwise as `get`.
  Operation get_location(std::string_view location) const {
    std::string loc = detail::c_string(location, "the location");
    teamsop_operation* out = nullptr;
    detail::start_call();
    detail::finish(teamsop_get_location(client_, loc.c_str(), &out));
    return Operation(out);
  }

  /// Polls `location` (any form `get_location` takes) until the status is
  /// terminal (succeeded, failed or invalid), and returns that operation
  /// whichever it is (read its status). The first pause is the poll interval, then pauses double up to
  /// 10 s; a Retry-After wins; a 404 in the first 10 s is polled again.
  ///
  /// `on_poll` is any callable taking `const OperationView&` and returning
  /// `bool` (true: keep waiting, false: stop) or `void` (keep waiting). It is
  /// called on this thread with every operation received, the terminal one
  /// included; the view is valid during the call only. It is taken by reference
  /// and not copied; it may call into this library (its failures do not disturb
  /// the wait's own error).
  ///
  /// Throws Error: `Cancelled` when `on_poll` returned false; `Timeout` when
  /// `timeout` passed (it never sleeps past it); `NotFound` when a 404 outlasts
  /// the first 10 s or the deadline; any other error of a GET as is;
  /// `InvalidArgument` for an empty client, a refused location, or a timeout of
  /// 0, negative, or over 4294967295 ms. If `on_poll` throws, the exception is
  /// caught before it can reach the C library, the wait stops (no further poll),
  /// and that same exception is rethrown from here once `teamsop_wait` has
  /// returned. Thread-safe.
  template <typename OnPoll, typename = std::enable_if_t<!std::is_same_v<std::decay_t<OnPoll>, Cancel>>>
  Operation wait(std::string_view location, std::chrono::milliseconds timeout, OnPoll&& on_poll) const {
    return wait_with(location, timeout, on_poll, nullptr);
  }

  /// As `wait(location, timeout, on_poll)`, and it also ends, with `Cancelled`,
  /// within 100 ms of `cancel.trigger()` from any thread: in a GET, in a
  /// retry's pause or between polls. A `cancel` already triggered ends it
  /// before anything is sent. A token provider being asked is not interrupted:
  /// the wait ends when it returns. `cancel` must outlive the call;
  /// `InvalidArgument` for an empty (moved-from) Cancel.
  template <typename OnPoll>
  Operation wait(std::string_view location, std::chrono::milliseconds timeout, OnPoll&& on_poll,
                 const Cancel& cancel) const {
    return wait_with(location, timeout, on_poll, cancel_handle(cancel));
  }

  /// As `wait(location, timeout, on_poll)` without a callback.
  Operation wait(std::string_view location, std::chrono::milliseconds timeout) const {
    return wait(location, timeout, [](const OperationView&) {});
  }

  /// As `wait(location, timeout, on_poll, cancel)` without a callback.
  Operation wait(std::string_view location, std::chrono::milliseconds timeout, const Cancel& cancel) const {
    return wait(location, timeout, [](const OperationView&) {}, cancel);
  }

 private:
  struct Adopt {};
  Client(teamsop_client* owned, Adopt) noexcept
      : callables_(new (std::nothrow) detail::Callables()), client_(owned) {}

  /// The callables' store; an empty Client's calls fail in the C layer first.
  detail::Callables& callables() {
    if (client_ == nullptr) {
      detail::check(teamsop_client_set_token_provider(nullptr, nullptr, nullptr));
    }
    if (!callables_) {
      throw std::bad_alloc();
    }
    return *callables_;
  }

  static const teamsop_cancel* cancel_handle(const Cancel& cancel) {
    if (!cancel) {
      throw Error(Result::InvalidArgument, 0, "the Cancel is empty (moved from)");
    }
    return cancel.handle();
  }

  template <typename Fn>
  Operation wait_with(std::string_view location, std::chrono::milliseconds timeout, Fn& on_poll,
                      const teamsop_cancel* cancel) const {
    static_assert(std::is_invocable_v<Fn&, const OperationView&>,
                  "teamsop::Client::wait: on_poll must be callable with (const teamsop::OperationView&)");
    using Returned = std::invoke_result_t<Fn&, const OperationView&>;
    static_assert(std::is_void_v<Returned> || std::is_convertible_v<Returned, bool>,
                  "teamsop::Client::wait: on_poll must return bool (true: keep waiting) or void");

    std::string loc = detail::c_string(location, "the location");
    std::uint32_t timeout_ms = detail::to_u32_ms(timeout, "the wait timeout");
    WaitState<Fn> state{std::addressof(on_poll), nullptr};
    teamsop_operation* out = nullptr;
    detail::start_call();
    teamsop_result result = teamsop_wait_cancellable(client_, loc.c_str(), timeout_ms, &trampoline<Fn>,
                                                     &state, cancel, &out);
    Operation op(out);  // owned (and freed) whatever happens next
    if (state.exception) {
      detail::provider_exception() = nullptr;
      std::rethrow_exception(state.exception);
    }
    detail::finish(result);
    return op;
  }

  template <typename Fn>
  struct WaitState {
    Fn* on_poll;
    std::exception_ptr exception;
  };

  // The teamsop_poll_fn given to teamsop_wait: no exception may unwind through
  // the C library, so any is caught here, kept, and the wait told to stop.
  template <typename Fn>
  static bool trampoline(const teamsop_operation* current, void* user_data) noexcept {
    auto* state = static_cast<WaitState<Fn>*>(user_data);
    try {
      const OperationView view(current);
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&, const OperationView&>>) {
        std::invoke(*state->on_poll, view);
        return true;
      } else {
        return static_cast<bool>(std::invoke(*state->on_poll, view));
      }
    } catch (...) {
      state->exception = std::current_exception();
      return false;
    }
  }

  // Declared first: built before the client, freed after it.
  std::unique_ptr<detail::Callables> callables_;
  teamsop_client* client_ = nullptr;
};

// ------------------------------------------------------------------ batch

/// How one operation of a `Batch` ended, as `Batch::run` hands it to its
/// callback: valid during that call only (copy what you keep).
class BatchReport {
 public:
  /// The tag given to `Batch::add`.
  std::uint64_t tag() const noexcept { return tag_; }
  /// True when it ended with its terminal operation (succeeded, failed or
  /// invalid: read `operation().status()`); false when an error ended it.
  bool ok() const noexcept { return error_ == nullptr; }
  /// The terminal operation, borrowed for the call; empty when `!ok()`.
  const OperationView& operation() const noexcept { return operation_; }
  /// The error that ended it (`NotFound` after the 10 s grace, `Forbidden`,
  /// `Parse`, ...), with Graph's code and request ids; nullptr when `ok()`.
  const Error* error() const noexcept { return error_; }

  BatchReport(std::uint64_t tag, const teamsop_operation* op, const Error* error) noexcept
      : tag_(tag), operation_(op), error_(error) {}

 private:
  std::uint64_t tag_;
  OperationView operation_;
  const Error* error_;
};

/// Many operations followed at once (`teamsop_batch`), under a budget of GETs
/// per second, over Graph JSON batching. Owns its handle (freed, with every
/// operation still pending, by the destructor). Borrows its `Client`, which must
/// outlive it. Move-only; a moved-from Batch is empty, and any call through it
/// throws Error with `Result::InvalidArgument`.
///
///     teamsop::Batch batch(client);
///     batch.set_max_gets_per_second(30);
///     for (std::size_t i = 0; i < locations.size(); i++) batch.add(locations[i], i);
///     batch.run(std::chrono::minutes(10), [&](const teamsop::BatchReport& done) {
///       if (done.ok()) std::cout << done.tag() << ' ' << done.operation().status_str().value_or("-") << '\n';
///       else std::cerr << done.tag() << ' ' << done.error()->what() << '\n';
///     });
///
/// Threads: one thread at a time uses a Batch (it may move between threads);
/// several Batches, on several threads, may share one Client.
class Batch {
 public:
  /// An empty batch polling through `client`. Throws Error (InvalidArgument)
  /// for an empty (moved-from) client.
  explicit Batch(const Client& client) : batch_(teamsop_batch_new(client.handle())) {
    if (batch_ == nullptr) {
      throw Error::from_last_error(Result::InvalidArgument);
    }
  }
  /// Not from a temporary Client: it would be gone before the batch.
  explicit Batch(const Client&&) = delete;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  /// Takes `other`'s batch; `other` is left empty.
  Batch(Batch&& other) noexcept : batch_(std::exchange(other.batch_, nullptr)) {}
  /// Frees the batch held, then takes `other`'s; `other` is left empty.
  Batch& operator=(Batch&& other) noexcept {
    if (this != &other) {
      teamsop_batch_free(batch_);
      batch_ = std::exchange(other.batch_, nullptr);
    }
    return *this;
  }
  /// Frees the batch and the operations still pending in it (not reported).
  ~Batch() { teamsop_batch_free(batch_); }

  /// The C handle (NULL when empty), still owned by this Batch.
  teamsop_batch* handle() const noexcept { return batch_; }
  /// True when this holds a batch (false once moved from).
  explicit operator bool() const noexcept { return batch_ != nullptr; }

  /// Adds the operation a 202's `Location` names (read as
  /// `Client::get_location` reads it), with `tag` handed back when it ends.
  /// Throws Error (InvalidArgument) for a Location that would be refused, or
  /// from inside this batch's own `run` callback; nothing is added then.
  Batch& add(std::string_view location, std::uint64_t tag) {
    std::string loc = detail::c_string(location, "the location");
    detail::check(teamsop_batch_add(batch_, loc.c_str(), tag));
    return *this;
  }

  /// Operations added and not yet reported (0 for an empty Batch).
  std::size_t pending() const noexcept { return teamsop_batch_pending(batch_); }

  /// The GETs per second the batch allows itself now: the maximum set, or less
  /// after a 429 (halved, then climbing back). 0 for an empty Batch. May be
  /// called from the run's own callback.
  std::uint32_t current_gets_per_second() const noexcept {
    return teamsop_batch_current_gets_per_second(batch_);
  }

  /// The most operation GETs started in any sliding second, each request inside
  /// a `$batch` counted on its own: 1 to 1000 (default 10; Teams allows an app
  /// about 30 per tenant). Throws Error (InvalidArgument) outside that range.
  Batch& set_max_gets_per_second(std::uint32_t gets_per_second) {
    detail::check(teamsop_batch_set_max_gets_per_second(batch_, gets_per_second));
    return *this;
  }

  /// Whether GETs travel in Graph JSON batches (default) or one by one.
  Batch& set_json_batching(bool enabled) {
    detail::check(teamsop_batch_set_json_batching(batch_, enabled));
    return *this;
  }

  /// Polls every pending operation until each has been reported to `on_done`,
  /// once, as it ends (see `teamsop_batch_run` for the pacing, the rate,
  /// throttling and retries). `on_done` is any callable taking either
  /// `(const teamsop::BatchReport&)` or `(std::uint64_t tag, const teamsop::Error*
  /// error, const teamsop::OperationView* operation)` (one of the two pointers is
  /// null), returning bool (false: stop the run) or void (go on). It is called on
  /// this thread, taken by reference and not copied; it may call into this
  /// library, but not change, run or free this batch (those throw Error).
  ///
  /// Throws Error: `Timeout` when `timeout` passed, `Cancelled` when `on_done`
  /// returned false or the cancel (below) was triggered, or the error of a
  /// `$batch` that kept failing (`Transport`, `Http`, `Throttled`, ...); the
  /// operations not reported stay pending: run again to go on. If `on_done`
  /// throws, the exception is caught before it can reach the C library, the run
  /// stops (that operation counts as reported), and that same exception is
  /// rethrown from here once the run has returned.
  template <typename OnDone>
  void run(std::chrono::milliseconds timeout, OnDone&& on_done) {
    run_with(timeout, on_done, nullptr);
  }

  /// As `run(timeout, on_done)`, ended (Error `Cancelled`) within 100 ms of
  /// `teamsop_cancel_trigger(cancel)` from any thread; `cancel` may be NULL.
  template <typename OnDone>
  void run(std::chrono::milliseconds timeout, OnDone&& on_done, const teamsop_cancel* cancel) {
    run_with(timeout, on_done, cancel);
  }

  /// As above with a cancel trigger object such as `teamsop::Cancel`: anything
  /// whose `handle()` gives its `teamsop_cancel*`.
  template <typename OnDone, typename CancelT,
            typename = std::enable_if_t<std::is_convertible_v<
                decltype(std::declval<const CancelT&>().handle()), const teamsop_cancel*>>>
  void run(std::chrono::milliseconds timeout, OnDone&& on_done, const CancelT& cancel) {
    const teamsop_cancel* handle = cancel.handle();
    if (handle == nullptr) {
      throw Error(Result::InvalidArgument, 0, "the cancel trigger is empty (moved from)");
    }
    run_with(timeout, on_done, handle);
  }

  /// As `run(timeout, on_done)` with no callback: the operations are followed to
  /// their end and forgotten.
  void run(std::chrono::milliseconds timeout) {
    detail::start_call();
    detail::finish(teamsop_batch_run(batch_, detail::to_u32_ms(timeout, "the run timeout"), nullptr,
                                     nullptr, nullptr));
  }

 private:
  template <typename Fn>
  struct RunState {
    Fn* on_done;
    std::exception_ptr exception;
  };

  template <typename Fn>
  void run_with(std::chrono::milliseconds timeout, Fn& on_done, const teamsop_cancel* cancel) {
    constexpr bool takes_report = std::is_invocable_v<Fn&, const BatchReport&>;
    constexpr bool takes_parts =
        std::is_invocable_v<Fn&, std::uint64_t, const Error*, const OperationView*>;
    static_assert(takes_report || takes_parts,
                  "teamsop::Batch::run: on_done must be callable with (const teamsop::BatchReport&) "
                  "or (std::uint64_t, const teamsop::Error*, const teamsop::OperationView*)");
    std::uint32_t timeout_ms = detail::to_u32_ms(timeout, "the run timeout");
    RunState<Fn> state{std::addressof(on_done), nullptr};
    detail::start_call();
    teamsop_result result = teamsop_batch_run(batch_, timeout_ms, &trampoline<Fn>, &state, cancel);
    if (state.exception) {
      detail::provider_exception() = nullptr;
      std::rethrow_exception(state.exception);
    }
    detail::finish(result);
  }

  template <typename Fn, typename... Args>
  static bool call(Fn& fn, Args&&... args) {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&, Args...>>) {
      std::invoke(fn, std::forward<Args>(args)...);
      return true;
    } else {
      static_assert(std::is_convertible_v<std::invoke_result_t<Fn&, Args...>, bool>,
                    "teamsop::Batch::run: on_done must return bool (false: stop) or void");
      return static_cast<bool>(std::invoke(fn, std::forward<Args>(args)...));
    }
  }

  // The teamsop_done_fn given to teamsop_batch_run: no exception may unwind
  // through the C library, so any is caught here, kept, and the run told to stop.
  template <typename Fn>
  static bool trampoline(void* user_data, std::uint64_t tag, teamsop_result result,
                         const teamsop_operation* op) noexcept {
    auto* state = static_cast<RunState<Fn>*>(user_data);
    try {
      std::optional<Error> error;
      if (result != TEAMSOP_OK) {
        // teamsop_last_* tell why this operation ended, during this call only.
        error.emplace(Error::from_last_error(static_cast<Result>(result)));
      }
      const Error* e = error ? &*error : nullptr;
      if constexpr (std::is_invocable_v<Fn&, const BatchReport&>) {
        const BatchReport report(tag, op, e);
        return call(*state->on_done, report);
      } else {
        const OperationView view(op);
        return call(*state->on_done, tag, e, op != nullptr ? &view : nullptr);
      }
    } catch (...) {
      state->exception = std::current_exception();
      return false;
    }
  }

  teamsop_batch* batch_ = nullptr;
};

}  // namespace teamsop

#endif  // TEAMSOP_HPP
