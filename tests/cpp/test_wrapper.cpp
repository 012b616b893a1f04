// test_wrapper.cpp: the C++ wrapper (include/teamsop.hpp) against the Graph
// emulator over loopback.
//
//   scripts/with-emulator.sh --scenarios tests/cpp/scenarios.json -- out/test_wrapper
//
// Reads TEAMSOP_BASE_URL, TEAMSOP_TOKEN and TEAMSOP_EMULATOR_URL, as exported by
// scripts/with-emulator.sh; the scripted answers are in tests/cpp/scenarios.json.
// Run from the repository root (tests/fixtures/seed-operation.json is read).
// Prints one line per failed check and a summary; exit status 0 when all passed.
//
// Test names on the command line run only those, as for the C tests
// (tests/c/check.h): a name as --list prints it, or without its test_ prefix, or
// a shell pattern; a name that matches no test is an error (exit status 64).
#include "teamsop.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using teamsop::Client;
using teamsop::Cloud;
using teamsop::Error;
using teamsop::Operation;
using teamsop::OperationView;
using teamsop::Result;
using teamsop::Status;
using teamsop::Type;

// ================================================================== compile-time checks

// Every enum value, against the C enum and against its documented number.
static_assert(static_cast<int>(Result::Ok) == TEAMSOP_OK && TEAMSOP_OK == 0);
static_assert(static_cast<int>(Result::InvalidArgument) == TEAMSOP_ERR_INVALID_ARGUMENT && TEAMSOP_ERR_INVALID_ARGUMENT == 1);
static_assert(static_cast<int>(Result::Transport) == TEAMSOP_ERR_TRANSPORT && TEAMSOP_ERR_TRANSPORT == 2);
static_assert(static_cast<int>(Result::Timeout) == TEAMSOP_ERR_TIMEOUT && TEAMSOP_ERR_TIMEOUT == 3);
static_assert(static_cast<int>(Result::Unauthorized) == TEAMSOP_ERR_UNAUTHORIZED && TEAMSOP_ERR_UNAUTHORIZED == 4);
static_assert(static_cast<int>(Result::Forbidden) == TEAMSOP_ERR_FORBIDDEN && TEAMSOP_ERR_FORBIDDEN == 5);
static_assert(static_cast<int>(Result::NotFound) == TEAMSOP_ERR_NOT_FOUND && TEAMSOP_ERR_NOT_FOUND == 6);
static_assert(static_cast<int>(Result::Throttled) == TEAMSOP_ERR_THROTTLED && TEAMSOP_ERR_THROTTLED == 7);
static_assert(static_cast<int>(Result::Http) == TEAMSOP_ERR_HTTP && TEAMSOP_ERR_HTTP == 8);
static_assert(static_cast<int>(Result::Parse) == TEAMSOP_ERR_PARSE && TEAMSOP_ERR_PARSE == 9);
static_assert(static_cast<int>(Result::TooLarge) == TEAMSOP_ERR_TOO_LARGE && TEAMSOP_ERR_TOO_LARGE == 10);
static_assert(static_cast<int>(Result::Cancelled) == TEAMSOP_ERR_CANCELLED && TEAMSOP_ERR_CANCELLED == 11);
static_assert(static_cast<int>(Result::Internal) == TEAMSOP_ERR_INTERNAL && TEAMSOP_ERR_INTERNAL == 12);
static_assert(static_cast<int>(Status::Invalid) == TEAMSOP_STATUS_INVALID && TEAMSOP_STATUS_INVALID == 0);
static_assert(static_cast<int>(Status::NotStarted) == TEAMSOP_STATUS_NOT_STARTED && TEAMSOP_STATUS_NOT_STARTED == 1);
static_assert(static_cast<int>(Status::InProgress) == TEAMSOP_STATUS_IN_PROGRESS && TEAMSOP_STATUS_IN_PROGRESS == 2);
static_assert(static_cast<int>(Status::Succeeded) == TEAMSOP_STATUS_SUCCEEDED && TEAMSOP_STATUS_SUCCEEDED == 3);
static_assert(static_cast<int>(Status::Failed) == TEAMSOP_STATUS_FAILED && TEAMSOP_STATUS_FAILED == 4);
static_assert(static_cast<int>(Status::UnknownFutureValue) == TEAMSOP_STATUS_UNKNOWN_FUTURE_VALUE && TEAMSOP_STATUS_UNKNOWN_FUTURE_VALUE == 5);
static_assert(static_cast<int>(Status::Unrecognized) == TEAMSOP_STATUS_UNRECOGNIZED);
static_assert(static_cast<int>(Status::Absent) == TEAMSOP_STATUS_ABSENT);
static_assert(static_cast<int>(Type::Invalid) == TEAMSOP_TYPE_INVALID && TEAMSOP_TYPE_INVALID == 0);
static_assert(static_cast<int>(Type::CloneTeam) == TEAMSOP_TYPE_CLONE_TEAM && TEAMSOP_TYPE_CLONE_TEAM == 1);
static_assert(static_cast<int>(Type::ArchiveTeam) == TEAMSOP_TYPE_ARCHIVE_TEAM && TEAMSOP_TYPE_ARCHIVE_TEAM == 2);
static_assert(static_cast<int>(Type::UnarchiveTeam) == TEAMSOP_TYPE_UNARCHIVE_TEAM && TEAMSOP_TYPE_UNARCHIVE_TEAM == 3);
static_assert(static_cast<int>(Type::CreateTeam) == TEAMSOP_TYPE_CREATE_TEAM && TEAMSOP_TYPE_CREATE_TEAM == 4);
static_assert(static_cast<int>(Type::UnknownFutureValue) == TEAMSOP_TYPE_UNKNOWN_FUTURE_VALUE && TEAMSOP_TYPE_UNKNOWN_FUTURE_VALUE == 5);
static_assert(static_cast<int>(Type::TeamifyGroup) == TEAMSOP_TYPE_TEAMIFY_GROUP && TEAMSOP_TYPE_TEAMIFY_GROUP == 6);
static_assert(static_cast<int>(Type::CreateChannel) == TEAMSOP_TYPE_CREATE_CHANNEL && TEAMSOP_TYPE_CREATE_CHANNEL == 7);
static_assert(static_cast<int>(Type::CreateChat) == TEAMSOP_TYPE_CREATE_CHAT && TEAMSOP_TYPE_CREATE_CHAT == 8);
static_assert(static_cast<int>(Type::ArchiveChannel) == TEAMSOP_TYPE_ARCHIVE_CHANNEL && TEAMSOP_TYPE_ARCHIVE_CHANNEL == 9);
static_assert(static_cast<int>(Type::UnarchiveChannel) == TEAMSOP_TYPE_UNARCHIVE_CHANNEL && TEAMSOP_TYPE_UNARCHIVE_CHANNEL == 10);
static_assert(static_cast<int>(Type::Unrecognized) == TEAMSOP_TYPE_UNRECOGNIZED);
static_assert(static_cast<int>(Type::Absent) == TEAMSOP_TYPE_ABSENT);
static_assert(static_cast<int>(Cloud::Global) == TEAMSOP_CLOUD_GLOBAL && TEAMSOP_CLOUD_GLOBAL == 0);
static_assert(static_cast<int>(Cloud::UsGov) == TEAMSOP_CLOUD_US_GOV && TEAMSOP_CLOUD_US_GOV == 1);
static_assert(static_cast<int>(Cloud::UsGovDod) == TEAMSOP_CLOUD_US_GOV_DOD && TEAMSOP_CLOUD_US_GOV_DOD == 2);
static_assert(static_cast<int>(Cloud::China) == TEAMSOP_CLOUD_CHINA && TEAMSOP_CLOUD_CHINA == 3);
// The library's extra members are distinct from every Graph member.
static_assert(static_cast<int>(Status::Unrecognized) > 5 && Status::Unrecognized != Status::Absent);
static_assert(static_cast<int>(Type::Unrecognized) > 10 && Type::Unrecognized != Type::Absent);

// Ownership: move-only handles, nothrow moves; a cheap copyable view.
static_assert(!std::is_copy_constructible_v<Client> && !std::is_copy_assignable_v<Client>);
static_assert(std::is_nothrow_move_constructible_v<Client> && std::is_nothrow_move_assignable_v<Client>);
static_assert(!std::is_copy_constructible_v<Operation> && !std::is_copy_assignable_v<Operation>);
static_assert(std::is_nothrow_move_constructible_v<Operation> && std::is_nothrow_move_assignable_v<Operation>);
static_assert(std::is_nothrow_default_constructible_v<Operation>);
static_assert(std::is_nothrow_copy_constructible_v<OperationView> && std::is_trivially_copyable_v<OperationView>);
static_assert(std::is_nothrow_destructible_v<Client> && std::is_nothrow_destructible_v<Operation>);
// No implicit adoption of raw handles, no implicit client from a string.
static_assert(!std::is_convertible_v<teamsop_operation*, Operation>);
static_assert(!std::is_convertible_v<const char*, Client>);
// Errors: a runtime_error whose copies never throw.
static_assert(std::is_base_of_v<std::runtime_error, Error>);
static_assert(std::is_nothrow_copy_constructible_v<Error>);

// No view of a temporary Operation (it would dangle at once).
template <typename T, typename = void>
struct can_view : std::false_type {};
template <typename T>
struct can_view<T, std::void_t<decltype(std::declval<T>().view())>> : std::true_type {};
static_assert(can_view<const Operation&>::value && can_view<Operation&>::value);
static_assert(!can_view<Operation&&>::value && !can_view<Operation>::value);

// noexcept where documented.
static_assert(noexcept(teamsop::version()) && noexcept(teamsop::to_string(Result::Ok)));
static_assert(noexcept(std::declval<const Operation&>().id()));
static_assert(noexcept(std::declval<const Operation&>().status()));
static_assert(noexcept(std::declval<const Operation&>().created_time()));
static_assert(noexcept(std::declval<const Operation&>().attempts_count()));
static_assert(noexcept(std::declval<const Operation&>().json()));
static_assert(noexcept(std::declval<const OperationView&>().is_terminal()));
static_assert(noexcept(std::declval<Operation&>().release()));
static_assert(noexcept(std::declval<Client&>().release()));
static_assert(noexcept(std::declval<const Error&>().graph_code()));
static_assert(!noexcept(std::declval<const Client&>().get("a", "b")));

// Accessor types as documented.
static_assert(std::is_same_v<decltype(std::declval<const Operation&>().id()), std::optional<std::string_view>>);
static_assert(std::is_same_v<decltype(std::declval<const Operation&>().attempts_count()), std::optional<std::int32_t>>);
static_assert(std::is_same_v<decltype(std::declval<const Operation&>().created_unix_ms()), std::optional<std::int64_t>>);
static_assert(std::is_same_v<decltype(std::declval<const Operation&>().created_time()),
                             std::optional<std::chrono::system_clock::time_point>>);
static_assert(std::is_same_v<decltype(std::declval<const Operation&>().json()), std::string_view>);

// ================================================================== a tiny harness

namespace {

int g_checks = 0;
int g_failures = 0;
const char* g_test = "";

std::string show(std::string_view s) { return "\"" + std::string(s) + "\""; }
std::string show(const std::string& s) { return show(std::string_view(s)); }
std::string show(const char* s) { return s == nullptr ? "NULL" : show(std::string_view(s)); }
std::string show(bool b) { return b ? "true" : "false"; }
template <typename T>
std::string show(const T& value) {
  if constexpr (std::is_enum_v<T>) {
    return std::to_string(static_cast<long long>(value));
  } else if constexpr (std::is_arithmetic_v<T>) {
    return std::to_string(value);
  } else {
    return "<value>";
  }
}
template <typename T>
std::string show(const std::optional<T>& value) {
  return value ? "optional(" + show(*value) + ")" : "nullopt";
}
std::string show(std::nullopt_t) { return "nullopt"; }
std::string show(Result r) { return std::string(teamsop::to_string(r)); }

bool record(bool ok, const std::string& what, int line) {
  g_checks++;
  if (!ok) {
    g_failures++;
    std::cerr << "FAIL [" << g_test << "] line " << line << ": " << what << "\n";
  }
  return ok;
}

template <typename A, typename B>
bool check_eq(const A& actual, const B& expected, const char* a_text, const char* b_text, int line) {
  bool ok = actual == expected;
  return record(ok, std::string(a_text) + " == " + b_text + " (got " + show(actual) + ", expected " +
                        show(expected) + ")",
                line);
}

#define CHECK(cond) record(static_cast<bool>(cond), #cond, __LINE__)
#define CHECK_EQ(actual, expected) check_eq((actual), (expected), #actual, #expected, __LINE__)

// Runs `body`, expecting a teamsop::Error with `want`; returns it for more checks.
template <typename Body>
std::optional<Error> expect_error(Body&& body, Result want, const char* text, int line) {
  try {
    body();
  } catch (const Error& e) {
    record(e.result() == want,
           std::string(text) + ": result " + show(e.result()) + ", expected " + show(want) + " (" + e.what() + ")",
           line);
    return e;
  } catch (const std::exception& e) {
    record(false, std::string(text) + ": threw another exception: " + e.what(), line);
    return std::nullopt;
  }
  record(false, std::string(text) + ": no exception, expected " + show(want), line);
  return std::nullopt;
}
#define EXPECT_ERROR(expr, want) expect_error([&]() { (void)(expr); }, (want), #expr, __LINE__)

struct TestCase {
  const char* name;
  void (*fn)();
};
std::vector<TestCase>& tests() {
  static std::vector<TestCase> all;
  return all;
}
struct Register {
  Register(const char* name, void (*fn)()) { tests().push_back({name, fn}); }
};
#define TEST(name)                                 \
  void name();                                     \
  const Register register_##name(#name, &name); \
  void name()

// ================================================================== fixtures

const char* const SEED_CHAT = "19:c253a29b5f694b55a6baad8e83510af7@thread.v2";
const char* const SEED_OP =
    "2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-"
    "5de55630e7e4";
const char* const SEED_CONTEXT =
    "https://graph.microsoft.com/beta/$metadata#chats('19%3Ac253a29b5f694b55a6baad8e83510af7%40thread.v2')/"
    "operations/$entity";
const char* const SEED_VALUES = "{\"appIds\":[\"1542629c-01b3-4a6d-8f76-1938b779e48d\"]}";
constexpr std::int64_t SEED_CREATED_MS = 1622150621908;
constexpr std::int64_t SEED_LAST_ACTION_MS = 1622150625189;
const char* const TEAM = "8b081ef6-4792-4def-b2c9-c363a1bf41d5";
constexpr std::int64_t TEAM_CREATED_MS = 1705312800000;      // 2024-01-15T10:00:00Z
constexpr std::int64_t TEAM_LAST_ACTION_MS = 1705312805000;  // 2024-01-15T10:00:05Z
const char* const SCENARIO_REQUEST_ID = "11111111-2222-3333-4444-555555555555";
const char* const WRONG_TOKEN = "cpp-wrong-secret-4242";

std::string g_base_url;
std::string g_token;
std::string g_emulator_url;
std::string g_fixture;

Client new_client() {
  Client c(g_token);
  c.set_base_url(g_base_url);
  return c;
}

std::string team_location(const std::string& team, const std::string& op) {
  return "/teams('" + team + "')/operations('" + op + "')";
}

bool is_guid(const std::optional<std::string>& text) {
  if (!text || text->size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < 36; i++) {
    char ch = (*text)[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? ch != '-' : !std::isxdigit(static_cast<unsigned char>(ch))) {
      return false;
    }
  }
  return true;
}

std::int64_t ms_of(std::chrono::system_clock::time_point tp) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Every field of the seed operation (tests/fixtures/seed-operation.json).
void check_seed(const teamsop::OperationReader& op, int line) {
  bool ok = true;
  ok &= CHECK(static_cast<bool>(op));
  ok &= CHECK_EQ(op.id(), SEED_OP);
  ok &= CHECK_EQ(op.status(), Status::Succeeded);
  ok &= CHECK_EQ(op.status_str(), "succeeded");
  ok &= CHECK_EQ(op.type(), Type::CreateChat);
  ok &= CHECK_EQ(op.type_str(), "createChat");
  ok &= CHECK_EQ(op.created_date_time(), "2021-05-27T21:23:41.9085453Z");
  ok &= CHECK_EQ(op.last_action_date_time(), "2021-05-27T21:23:45.1899277Z");
  ok &= CHECK_EQ(op.created_unix_ms(), SEED_CREATED_MS);
  ok &= CHECK_EQ(op.last_action_unix_ms(), SEED_LAST_ACTION_MS);
  ok &= CHECK(op.created_time().has_value() && ms_of(*op.created_time()) == SEED_CREATED_MS);
  ok &= CHECK(op.last_action_time().has_value() && ms_of(*op.last_action_time()) == SEED_LAST_ACTION_MS);
  ok &= CHECK(op.created_time() ==
              std::chrono::system_clock::time_point(std::chrono::milliseconds(SEED_CREATED_MS)));
  ok &= CHECK_EQ(op.attempts_count(), 1);
  ok &= CHECK_EQ(op.target_resource_id(), SEED_CHAT);
  ok &= CHECK_EQ(op.target_resource_location(), std::string("/chats('") + SEED_CHAT + "')");
  ok &= CHECK_EQ(op.values(), SEED_VALUES);
  ok &= CHECK_EQ(op.error_code(), std::nullopt);
  ok &= CHECK_EQ(op.error_message(), std::nullopt);
  ok &= CHECK_EQ(op.odata_context(), SEED_CONTEXT);
  ok &= CHECK_EQ(op.json(), g_fixture);
  ok &= CHECK(op.is_terminal());
  if (!ok) {
    std::cerr << "  (seed checks called from line " << line << ")\n";
  }
}
#define CHECK_SEED(op) check_seed((op), __LINE__)

// Every accessor of an empty (default, moved-from or released) operation.
void check_empty(const teamsop::OperationReader& op, int line) {
  bool ok = true;
  ok &= CHECK(!op);
  ok &= CHECK(op.handle() == nullptr);
  ok &= CHECK_EQ(op.id(), std::nullopt);
  ok &= CHECK_EQ(op.status(), Status::Absent);
  ok &= CHECK_EQ(op.status_str(), std::nullopt);
  ok &= CHECK_EQ(op.type(), Type::Absent);
  ok &= CHECK_EQ(op.type_str(), std::nullopt);
  ok &= CHECK_EQ(op.created_date_time(), std::nullopt);
  ok &= CHECK_EQ(op.last_action_date_time(), std::nullopt);
  ok &= CHECK_EQ(op.created_unix_ms(), std::nullopt);
  ok &= CHECK_EQ(op.last_action_unix_ms(), std::nullopt);
  ok &= CHECK(!op.created_time().has_value() && !op.last_action_time().has_value());
  ok &= CHECK_EQ(op.attempts_count(), std::nullopt);
  ok &= CHECK_EQ(op.target_resource_id(), std::nullopt);
  ok &= CHECK_EQ(op.target_resource_location(), std::nullopt);
  ok &= CHECK_EQ(op.values(), std::nullopt);
  ok &= CHECK_EQ(op.error_code(), std::nullopt);
  ok &= CHECK_EQ(op.error_message(), std::nullopt);
  ok &= CHECK_EQ(op.odata_context(), std::nullopt);
  ok &= CHECK(op.json().empty());
  ok &= CHECK(!op.is_terminal());
  if (!ok) {
    std::cerr << "  (empty checks called from line " << line << ")\n";
  }
}
#define CHECK_EMPTY(op) check_empty((op), __LINE__)

// What a scripted cpp-wait-* scenario answers, poll by poll.
struct Seen {
  Status status;
  std::optional<std::int32_t> attempts;
  std::optional<std::int64_t> last_action_ms;
  bool terminal;
  std::thread::id thread;
};
constexpr std::int64_t WAIT_LAST_ACTION_MS[] = {1705312801000, 1705312802000, 1705312803000};

Seen seen_of(const OperationView& view) {
  return Seen{view.status(), view.attempts_count(), view.last_action_unix_ms(), view.is_terminal(),
              std::this_thread::get_id()};
}

void check_wait_sequence(const std::vector<Seen>& seen, std::size_t count, int line) {
  bool ok = CHECK_EQ(seen.size(), count);
  const Status statuses[] = {Status::NotStarted, Status::InProgress, Status::Succeeded};
  const std::int32_t attempts[] = {0, 1, 1};
  for (std::size_t i = 0; i < seen.size() && i < 3; i++) {
    ok &= CHECK_EQ(seen[i].status, statuses[i]);
    ok &= CHECK_EQ(seen[i].attempts, attempts[i]);
    ok &= CHECK_EQ(seen[i].last_action_ms, WAIT_LAST_ACTION_MS[i]);
    ok &= CHECK_EQ(seen[i].terminal, i == 2);
    ok &= CHECK(seen[i].thread == std::this_thread::get_id());
  }
  if (!ok) {
    std::cerr << "  (wait sequence checked from line " << line << ")\n";
  }
}

// The scripted succeeded answer of a cpp-wait-* scenario.
void check_wait_succeeded(const teamsop::OperationReader& op, int line) {
  bool ok = true;
  ok &= CHECK_EQ(op.id(), "o");
  ok &= CHECK_EQ(op.status(), Status::Succeeded);
  ok &= CHECK_EQ(op.type(), Type::CloneTeam);
  ok &= CHECK_EQ(op.attempts_count(), 1);
  ok &= CHECK_EQ(op.last_action_unix_ms(), WAIT_LAST_ACTION_MS[2]);
  ok &= CHECK_EQ(op.target_resource_id(), "cpp-clone");
  ok &= CHECK_EQ(op.target_resource_location(), "/teams('cpp-clone')");
  ok &= CHECK(op.is_terminal());
  if (!ok) {
    std::cerr << "  (wait result checked from line " << line << ")\n";
  }
}

// ================================================================== library

TEST(test_version_and_result_names) {
  std::string_view v = teamsop::version();
  CHECK_EQ(v, std::string_view(teamsop_version()));
  CHECK(v.data() == teamsop_version());  // a view of the static string, not a copy
  int dots = 0;
  bool digits_ok = !v.empty() && std::isdigit(static_cast<unsigned char>(v.front())) &&
                   std::isdigit(static_cast<unsigned char>(v.back()));
  for (char ch : v) {
    dots += ch == '.';
    digits_ok &= ch == '.' || std::isdigit(static_cast<unsigned char>(ch));
  }
  CHECK(dots == 2 && digits_ok);

  CHECK_EQ(teamsop::to_string(Result::Ok), "TEAMSOP_OK");
  CHECK_EQ(teamsop::to_string(Result::InvalidArgument), "TEAMSOP_ERR_INVALID_ARGUMENT");
  CHECK_EQ(teamsop::to_string(Result::NotFound), "TEAMSOP_ERR_NOT_FOUND");
  CHECK_EQ(teamsop::to_string(Result::Cancelled), "TEAMSOP_ERR_CANCELLED");
  CHECK_EQ(teamsop::to_string(Result::Internal), "TEAMSOP_ERR_INTERNAL");
  CHECK_EQ(teamsop::to_string(static_cast<Result>(13)), "TEAMSOP_ERR_UNKNOWN");
  CHECK_EQ(teamsop::to_string(static_cast<Result>(999)), "TEAMSOP_ERR_UNKNOWN");
  for (std::uint32_t i = 0; i <= 12; i++) {
    CHECK_EQ(teamsop::to_string(static_cast<Result>(i)), std::string_view(teamsop_result_str(i)));
  }
}

// ================================================================== fetching

TEST(test_seed_chat_operation_every_field) {
  Client c = new_client();
  Operation op = c.get(SEED_CHAT, SEED_OP);
  CHECK_SEED(op);
  CHECK(op.handle() != nullptr);
  // The views point into the operation: the same bytes on every read.
  CHECK(op.id()->data() == op.id()->data());
  CHECK(op.json().data() == teamsop_operation_json(op.handle()));
  // A view shows the very same operation.
  OperationView v = op.view();
  CHECK(v.handle() == op.handle());
  CHECK_SEED(v);
  CHECK(v.id()->data() == op.id()->data());
  OperationView copy = v;
  CHECK(copy.handle() == op.handle());
}

TEST(test_ids_are_not_nul_terminated_views) {
  Client c = new_client();
  // Ids cut out of larger strings: only the view's bytes are sent.
  std::string chat_buffer = std::string(SEED_CHAT) + "trailing-garbage";
  std::string op_buffer = std::string(SEED_OP) + "/more";
  Operation op = c.get(std::string_view(chat_buffer).substr(0, std::string_view(SEED_CHAT).size()),
                       std::string_view(op_buffer).substr(0, std::string_view(SEED_OP).size()));
  CHECK_SEED(op);
}

TEST(test_team_operations) {
  Client c = new_client();

  Operation clone = c.get_team_operation(TEAM, "clone-in-progress");
  CHECK_EQ(clone.id(), "clone-in-progress");
  CHECK_EQ(clone.status(), Status::InProgress);
  CHECK_EQ(clone.status_str(), "inProgress");
  CHECK_EQ(clone.type(), Type::CloneTeam);
  CHECK_EQ(clone.type_str(), "cloneTeam");
  CHECK_EQ(clone.attempts_count(), 1);
  CHECK_EQ(clone.created_unix_ms(), TEAM_CREATED_MS);
  CHECK_EQ(clone.last_action_unix_ms(), TEAM_LAST_ACTION_MS);
  CHECK_EQ(clone.target_resource_id(), std::nullopt);
  CHECK_EQ(clone.target_resource_location(), std::nullopt);
  CHECK_EQ(clone.error_code(), std::nullopt);
  CHECK_EQ(clone.error_message(), std::nullopt);
  CHECK_EQ(clone.odata_context(),
           std::string("https://graph.microsoft.com/beta/$metadata#teams('") + TEAM + "')/operations/$entity");
  CHECK(!clone.is_terminal());

  Operation archive = c.get_team_operation(TEAM, "archive-failed");
  CHECK_EQ(archive.id(), "archive-failed");
  CHECK_EQ(archive.status(), Status::Failed);
  CHECK_EQ(archive.status_str(), "failed");
  CHECK_EQ(archive.type(), Type::ArchiveTeam);
  CHECK_EQ(archive.error_code(), "Conflict");
  CHECK_EQ(archive.error_message(), "The team is already archived.");
  CHECK_EQ(archive.attempts_count(), 1);
  CHECK(archive.is_terminal());

  Operation create = c.get_team_operation(TEAM, "create-succeeded");
  CHECK_EQ(create.id(), "create-succeeded");
  CHECK_EQ(create.status(), Status::Succeeded);
  CHECK_EQ(create.type(), Type::CreateTeam);
  CHECK_EQ(create.type_str(), "createTeam");
  CHECK_EQ(create.target_resource_id(), TEAM);
  CHECK_EQ(create.target_resource_location(), std::string("/teams('") + TEAM + "')");
  CHECK_EQ(create.error_code(), std::nullopt);
  CHECK(create.is_terminal());
}

TEST(test_get_location_forms) {
  Client c = new_client();
  CHECK_SEED(c.get_location(std::string("/chats('") + SEED_CHAT + "')/operations('" + SEED_OP + "')"));
  CHECK_SEED(c.get_location(std::string("/beta/chats/") + SEED_CHAT + "/operations/" + SEED_OP));

  Operation absolute = c.get_location(g_emulator_url + "/beta" + team_location(TEAM, "create-succeeded"));
  CHECK_EQ(absolute.id(), "create-succeeded");
  CHECK_EQ(absolute.type(), Type::CreateTeam);

  auto e = EXPECT_ERROR(c.get_location("/users/x/operations/y"), Result::InvalidArgument);
  if (e) {
    CHECK_EQ(e->http_status(), 0);
    CHECK_EQ(e->client_request_id(), std::nullopt);  // nothing was sent
  }
  EXPECT_ERROR(c.get_location("http://evil.example/beta/chats/a/operations/b"), Result::InvalidArgument);
  EXPECT_ERROR(c.get_location(""), Result::InvalidArgument);
}

// ================================================================== errors

TEST(test_error_404) {
  Client c = new_client();
  // From the emulator's own routes.
  auto e = EXPECT_ERROR(c.get(SEED_CHAT, "no-such-operation"), Result::NotFound);
  if (e) {
    CHECK_EQ(e->http_status(), 404);
    CHECK_EQ(e->graph_code(), "NotFound");
    CHECK(is_guid(e->request_id()));
    CHECK(is_guid(e->client_request_id()));
    CHECK(!e->message().empty());
    CHECK_EQ(std::string(e->what()), "TEAMSOP_ERR_NOT_FOUND: " + e->message());
    // What teamsop_last_* said at the time.
    CHECK_EQ(e->message(), std::string(teamsop_last_error_message()));
  }
  // Scripted: Graph's request-id, exactly.
  auto s = EXPECT_ERROR(c.get("cpp-404", "o"), Result::NotFound);
  if (s) {
    CHECK_EQ(s->http_status(), 404);
    CHECK_EQ(s->graph_code(), "NotFound");
    CHECK_EQ(s->request_id(), SCENARIO_REQUEST_ID);
    CHECK(is_guid(s->client_request_id()));
    CHECK(s->client_request_id() != s->request_id());
  }
  // A team operation too, and a catch by the base class.
  bool caught = false;
  try {
    (void)c.get_team_operation(TEAM, "nope");
  } catch (const std::runtime_error& base) {
    caught = std::string(base.what()).rfind("TEAMSOP_ERR_NOT_FOUND: ", 0) == 0;
  }
  CHECK(caught);
}

TEST(test_error_401_403_500) {
  Client c = new_client();
  c.set_token(WRONG_TOKEN);
  auto e = EXPECT_ERROR(c.get(SEED_CHAT, SEED_OP), Result::Unauthorized);
  if (e) {
    CHECK_EQ(e->http_status(), 401);
    CHECK_EQ(e->graph_code(), "InvalidAuthenticationToken");
    CHECK(is_guid(e->request_id()));
    CHECK(is_guid(e->client_request_id()));
    CHECK(std::string(e->what()).find(WRONG_TOKEN) == std::string::npos);
    CHECK(e->message().find(WRONG_TOKEN) == std::string::npos);
  }
  c.set_token(g_token);
  auto f = EXPECT_ERROR(c.get_team_operation("forbidden", "x"), Result::Forbidden);
  if (f) {
    CHECK_EQ(f->http_status(), 403);
    CHECK_EQ(f->graph_code(), "Forbidden");
  }
  c.set_max_retries(0);
  auto h = EXPECT_ERROR(c.get("cpp-500", "o"), Result::Http);
  if (h) {
    CHECK_EQ(h->http_status(), 500);
    CHECK_EQ(h->graph_code(), "InternalServerError");
  }
  // A 200 that is not an operation: the status of that answer.
  auto p = EXPECT_ERROR(c.get("cpp-badjson", "o"), Result::Parse);
  if (p) {
    CHECK_EQ(p->http_status(), 200);
    CHECK_EQ(p->graph_code(), std::nullopt);
  }
}

TEST(test_error_is_a_copy_taken_at_the_failure) {
  Client c = new_client();
  auto first = EXPECT_ERROR(c.get("cpp-404", "o"), Result::NotFound);
  // Another failure on this thread overwrites teamsop_last_*...
  c.set_token(WRONG_TOKEN);
  auto second = EXPECT_ERROR(c.get(SEED_CHAT, SEED_OP), Result::Unauthorized);
  CHECK_EQ(std::string_view(teamsop_last_graph_code()), "InvalidAuthenticationToken");
  // ...but not the first Error, nor its copies.
  if (first && second) {
    Error copy = *first;
    CHECK_EQ(copy.result(), Result::NotFound);
    CHECK_EQ(copy.http_status(), 404);
    CHECK_EQ(copy.graph_code(), "NotFound");
    CHECK_EQ(copy.request_id(), SCENARIO_REQUEST_ID);
    CHECK(copy.client_request_id() != second->client_request_id());
    CHECK_EQ(std::string(copy.what()), std::string(first->what()));
    CHECK_EQ(second->graph_code(), "InvalidAuthenticationToken");
  }
  // An Error built by hand.
  Error handmade(Result::Timeout, 0, "too slow");
  CHECK_EQ(std::string(handmade.what()), "TEAMSOP_ERR_TIMEOUT: too slow");
  CHECK_EQ(handmade.message(), "too slow");
  CHECK_EQ(handmade.graph_code(), std::nullopt);
}

TEST(test_invalid_arguments_send_nothing) {
  Client c = new_client();
  const std::vector<std::pair<std::string_view, std::string_view>> refused = {
      {"", SEED_OP}, {SEED_CHAT, ""}, {".", SEED_OP}, {SEED_CHAT, ".."}};
  for (const auto& ids : refused) {
    auto e = EXPECT_ERROR(c.get(ids.first, ids.second), Result::InvalidArgument);
    if (e) {
      CHECK_EQ(e->http_status(), 0);
      CHECK_EQ(e->graph_code(), std::nullopt);
      CHECK_EQ(e->request_id(), std::nullopt);
      CHECK_EQ(e->client_request_id(), std::nullopt);
    }
  }
  EXPECT_ERROR(c.get_team_operation("", "x"), Result::InvalidArgument);
  // A NUL inside a string_view: refused by the wrapper (C would read up to it).
  using namespace std::string_view_literals;
  auto nul = EXPECT_ERROR(c.get("19:abc\0def"sv, "o"), Result::InvalidArgument);
  if (nul) {
    CHECK(nul->message().find("NUL") != std::string::npos);
    CHECK_EQ(nul->http_status(), 0);
  }
  EXPECT_ERROR(c.get_team_operation(TEAM, "create-succeeded\0x"sv), Result::InvalidArgument);
  EXPECT_ERROR(c.get_location("/teams('a')/operations('b')\0"sv), Result::InvalidArgument);
  EXPECT_ERROR(c.set_token("tok\0en"sv), Result::InvalidArgument);
  EXPECT_ERROR(Client("tok\0en"sv), Result::InvalidArgument);
  // The client still works with its settings unchanged.
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
}

// ================================================================== the client's settings

TEST(test_client_tokens) {
  // No token: nothing is sent.
  Client none;
  CHECK(static_cast<bool>(none));
  none.set_base_url(g_base_url);
  auto e = EXPECT_ERROR(none.get(SEED_CHAT, SEED_OP), Result::InvalidArgument);
  if (e) {
    CHECK_EQ(e->http_status(), 0);
    CHECK_EQ(e->client_request_id(), std::nullopt);
  }
  none.set_token(g_token);
  CHECK_SEED(none.get(SEED_CHAT, SEED_OP));
  none.clear_token();
  EXPECT_ERROR(none.get(SEED_CHAT, SEED_OP), Result::InvalidArgument);

  EXPECT_ERROR(Client(""), Result::InvalidArgument);
  EXPECT_ERROR(Client("line\nbreak"), Result::InvalidArgument);
  EXPECT_ERROR(none.set_token(""), Result::InvalidArgument);
  EXPECT_ERROR(none.set_token("tab\there"), Result::InvalidArgument);
}

TEST(test_client_setters) {
  Client c = new_client();
  // Setters chain, returning the same client.
  CHECK(&c.set_max_retries(2).set_timeout(std::chrono::seconds(5)) == &c);
  CHECK(&c.set_poll_interval(250ms) == &c);

  EXPECT_ERROR(c.set_timeout(0ms), Result::InvalidArgument);
  auto neg = EXPECT_ERROR(c.set_timeout(-5ms), Result::InvalidArgument);
  if (neg) {
    CHECK(neg->message().find("-5") != std::string::npos);
  }
  EXPECT_ERROR(c.set_timeout(std::chrono::milliseconds(4294967296LL)), Result::InvalidArgument);
  EXPECT_ERROR(c.set_timeout(std::chrono::hours(24 * 60)), Result::InvalidArgument);
  c.set_timeout(std::chrono::milliseconds(4294967295LL));  // the largest accepted
  EXPECT_ERROR(c.set_poll_interval(0ms), Result::InvalidArgument);
  EXPECT_ERROR(c.set_poll_interval(-1s), Result::InvalidArgument);
  c.set_max_retries(10);
  EXPECT_ERROR(c.set_max_retries(11), Result::InvalidArgument);
  EXPECT_ERROR(c.set_max_body_bytes(0), Result::InvalidArgument);
  EXPECT_ERROR(c.set_cloud(static_cast<Cloud>(99)), Result::InvalidArgument);
  EXPECT_ERROR(c.set_base_url("http://evil.example/beta"), Result::InvalidArgument);
  EXPECT_ERROR(c.set_base_url("https://user@graph.microsoft.com/beta"), Result::InvalidArgument);
  EXPECT_ERROR(c.set_select("a b"), Result::InvalidArgument);
  EXPECT_ERROR(c.set_ca_file("/nonexistent/teamsop-ca.pem"), Result::InvalidArgument);
  EXPECT_ERROR(c.set_ca_file(""), Result::InvalidArgument);
  // Refused settings left the client as it was.
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));

  // Every cloud is accepted; then back to the emulator.
  for (Cloud cloud : {Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China}) {
    c.set_cloud(cloud);
  }
  c.set_base_url(g_base_url);

  // $select: selected-out fields read as absent; "" and clear_select clear it.
  c.set_select("status,error");
  Operation selected = c.get(SEED_CHAT, SEED_OP);
  CHECK_EQ(selected.status(), Status::Succeeded);
  CHECK_EQ(selected.id(), std::nullopt);
  CHECK_EQ(selected.type(), Type::Absent);
  CHECK_EQ(selected.attempts_count(), std::nullopt);
  CHECK_EQ(selected.created_unix_ms(), std::nullopt);
  c.set_select("");
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
  c.set_select("id");
  CHECK_EQ(c.get(SEED_CHAT, SEED_OP).status(), Status::Absent);
  c.clear_select();
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));

  // The body cap.
  c.set_max_body_bytes(64);
  auto big = EXPECT_ERROR(c.get(SEED_CHAT, SEED_OP), Result::TooLarge);
  if (big) {
    CHECK_EQ(big->http_status(), 200);
  }
  c.set_max_body_bytes(1 << 20);
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
}

TEST(test_client_timeout_is_in_milliseconds) {
  Client c = new_client();
  c.set_max_retries(0).set_timeout(300ms);
  auto start = std::chrono::steady_clock::now();
  auto e = EXPECT_ERROR(c.get("cpp-slow", "o"), Result::Timeout);
  double took = seconds_since(start);
  CHECK(took >= 0.25 && took < 1.5);
  if (e) {
    CHECK_EQ(e->http_status(), 0);
    CHECK(is_guid(e->client_request_id()));
  }
}

// ================================================================== ownership

TEST(test_operation_move_semantics) {
  Client c = new_client();
  Operation a = c.get(SEED_CHAT, SEED_OP);
  const teamsop_operation* handle = a.handle();

  Operation b = std::move(a);
  CHECK(b.handle() == handle);
  CHECK_SEED(b);
  CHECK_EMPTY(a);  // NOLINT(bugprone-use-after-move): moved-from is empty, and safe to read

  // Move-assign onto a live operation (which is freed) and onto a moved-from one.
  Operation d = c.get_team_operation(TEAM, "archive-failed");
  d = std::move(b);
  CHECK(d.handle() == handle);
  CHECK_SEED(d);
  CHECK_EMPTY(b);
  a = std::move(d);
  CHECK_SEED(a);
  CHECK_EMPTY(d);

  // Self-move-assignment keeps it.
  Operation& alias = a;
  a = std::move(alias);
  CHECK(a.handle() == handle);
  CHECK_SEED(a);

  // A moved-from operation may be assigned to again.
  b = c.get_team_operation(TEAM, "clone-in-progress");
  CHECK_EQ(b.status(), Status::InProgress);

  // Default-constructed: empty.
  Operation empty;
  CHECK_EMPTY(empty);
  CHECK_EMPTY(OperationView());
  CHECK_EMPTY(empty.view());

  // release() hands the handle over; Operation(raw) takes it back.
  teamsop_operation* raw = a.release();
  CHECK(raw == handle);
  CHECK_EMPTY(a);
  CHECK_EQ(std::string_view(teamsop_operation_id(raw)), SEED_OP);
  Operation again(raw);
  CHECK_SEED(again);
  Operation none(nullptr);
  CHECK_EMPTY(none);
  // a, b, d, empty, none: destroyed at scope end, empty or not.
}

TEST(test_client_move_semantics) {
  Client a = new_client();
  teamsop_client* handle = a.handle();
  CHECK(handle != nullptr);
  CHECK(static_cast<bool>(a));

  Client b = std::move(a);
  CHECK(b.handle() == handle);
  CHECK(!a);  // NOLINT(bugprone-use-after-move)
  CHECK(a.handle() == nullptr);
  CHECK_SEED(b.get(SEED_CHAT, SEED_OP));

  // Every call through a moved-from client: INVALID_ARGUMENT from the C layer.
  auto e = EXPECT_ERROR(a.get(SEED_CHAT, SEED_OP), Result::InvalidArgument);
  if (e) {
    CHECK_EQ(e->http_status(), 0);
    CHECK(!e->message().empty());
  }
  EXPECT_ERROR(a.get_team_operation(TEAM, "create-succeeded"), Result::InvalidArgument);
  EXPECT_ERROR(a.get_location(team_location(TEAM, "create-succeeded")), Result::InvalidArgument);
  int calls = 0;
  EXPECT_ERROR(a.wait(team_location(TEAM, "create-succeeded"), 1s, [&](const OperationView&) { calls++; }),
               Result::InvalidArgument);
  CHECK_EQ(calls, 0);
  EXPECT_ERROR(a.wait(team_location(TEAM, "create-succeeded"), 1s), Result::InvalidArgument);
  EXPECT_ERROR(a.set_token(g_token), Result::InvalidArgument);
  EXPECT_ERROR(a.clear_token(), Result::InvalidArgument);
  EXPECT_ERROR(a.set_cloud(Cloud::Global), Result::InvalidArgument);
  EXPECT_ERROR(a.set_base_url(g_base_url), Result::InvalidArgument);
  EXPECT_ERROR(a.set_timeout(1s), Result::InvalidArgument);
  EXPECT_ERROR(a.set_max_retries(1), Result::InvalidArgument);
  EXPECT_ERROR(a.set_max_body_bytes(1024), Result::InvalidArgument);
  EXPECT_ERROR(a.set_poll_interval(1s), Result::InvalidArgument);
  EXPECT_ERROR(a.set_select("status"), Result::InvalidArgument);
  EXPECT_ERROR(a.clear_select(), Result::InvalidArgument);

  // Move-assign onto a live client (freed) and back onto the moved-from one.
  Client other(g_token);
  other = std::move(b);
  CHECK(other.handle() == handle);
  CHECK(!b);  // NOLINT(bugprone-use-after-move)
  a = std::move(other);
  CHECK(a.handle() == handle);
  CHECK_SEED(a.get(SEED_CHAT, SEED_OP));
  Client& alias = a;
  a = std::move(alias);
  CHECK(a.handle() == handle);

  // Operations outlive their client.
  Operation kept = a.get(SEED_CHAT, SEED_OP);
  { Client gone = std::move(a); }
  CHECK_SEED(kept);

  // release() and adopt().
  Client c = new_client();
  teamsop_client* raw = c.release();
  CHECK(!c);
  Client adopted = Client::adopt(raw);
  CHECK(adopted.handle() == raw);
  CHECK_SEED(adopted.get(SEED_CHAT, SEED_OP));
  Client adopted_null = Client::adopt(nullptr);
  CHECK(!adopted_null);
}

// ================================================================== parse

TEST(test_parse) {
  Operation seed = Operation::parse(g_fixture);
  CHECK_SEED(seed);
  // An owned copy of a view, through its JSON.
  Operation copy = Operation::parse(seed.view().json());
  CHECK_SEED(copy);
  CHECK(copy.handle() != seed.handle());

  // Exactly size() bytes are read: no NUL terminator needed.
  std::string padded = g_fixture + "this is not JSON";
  CHECK_SEED(Operation::parse(std::string_view(padded).substr(0, g_fixture.size())));

  auto empty = EXPECT_ERROR(Operation::parse(""), Result::Parse);
  if (empty) {
    CHECK_EQ(empty->http_status(), 0);  // no network
    CHECK_EQ(empty->graph_code(), std::nullopt);
    CHECK_EQ(empty->request_id(), std::nullopt);
    CHECK_EQ(empty->client_request_id(), std::nullopt);
  }
  EXPECT_ERROR(Operation::parse(std::string_view()), Result::Parse);  // null data(): still a parse error
  EXPECT_ERROR(Operation::parse("[1,2,3]"), Result::Parse);
  EXPECT_ERROR(Operation::parse("\"text\""), Result::Parse);
  EXPECT_ERROR(Operation::parse("{\"id\": \"x\", \"status\": "), Result::Parse);
  EXPECT_ERROR(Operation::parse("{\"id\":\"x\",\"attemptsCount\":\"1\"}"), Result::Parse);
  EXPECT_ERROR(Operation::parse("{\"id\":\"a\\u0000b\"}"), Result::Parse);
  EXPECT_ERROR(Operation::parse("{\"id\":\"\xff\"}"), Result::Parse);
  EXPECT_ERROR(Operation::parse(std::string_view(padded).substr(g_fixture.size())), Result::Parse);

  // An object without any known field parses; everything reads as absent.
  Operation bare = Operation::parse("{}");
  CHECK(static_cast<bool>(bare));
  CHECK_EQ(bare.id(), std::nullopt);
  CHECK_EQ(bare.status(), Status::Absent);
  CHECK_EQ(bare.type(), Type::Absent);
  CHECK_EQ(bare.attempts_count(), std::nullopt);
  CHECK_EQ(bare.json(), "{}");
  CHECK(!bare.is_terminal());

  // Values this version does not know, and the Graph enums' own future value.
  Operation future = Operation::parse(
      "{\"id\":\"f\",\"status\":\"someNewStatus\",\"operationType\":\"someNewType\",\"extra\":[1]}");
  CHECK_EQ(future.status(), Status::Unrecognized);
  CHECK_EQ(future.status_str(), "someNewStatus");
  CHECK_EQ(future.type(), Type::Unrecognized);
  CHECK_EQ(future.type_str(), "someNewType");
  CHECK(future.json().find("\"extra\":[1]") != std::string_view::npos);
  Operation ufv = Operation::parse(
      "{\"status\":\"unknownFutureValue\",\"operationType\":\"unknownFutureValue\",\"attemptsCount\":null}");
  CHECK_EQ(ufv.status(), Status::UnknownFutureValue);
  CHECK_EQ(ufv.type(), Type::UnknownFutureValue);
  CHECK_EQ(ufv.attempts_count(), std::nullopt);
  Operation channel = Operation::parse("{\"status\":\"notStarted\",\"operationType\":\"unarchiveChannel\"}");
  CHECK_EQ(channel.status(), Status::NotStarted);
  CHECK_EQ(channel.type(), Type::UnarchiveChannel);
}

TEST(test_times) {
  // An offset is applied; sub-millisecond digits are truncated.
  Operation offset = Operation::parse(
      "{\"createdDateTime\":\"2021-05-27T23:23:41.9085453+02:00\","
      "\"lastActionDateTime\":\"1970-01-01T00:00:00.0009Z\"}");
  CHECK_EQ(offset.created_unix_ms(), SEED_CREATED_MS);
  CHECK_EQ(offset.created_date_time(), "2021-05-27T23:23:41.9085453+02:00");
  CHECK(offset.created_time() == std::chrono::system_clock::time_point(std::chrono::milliseconds(SEED_CREATED_MS)));
  CHECK_EQ(offset.last_action_unix_ms(), 0);
  CHECK(offset.last_action_time() == std::chrono::system_clock::time_point());

  // Before 1970: negative milliseconds.
  Operation early = Operation::parse("{\"createdDateTime\":\"1969-12-31T23:59:59.999Z\"}");
  CHECK_EQ(early.created_unix_ms(), -1);
  CHECK(early.created_time().has_value() && ms_of(*early.created_time()) == -1);

  // Unparseable: the text is there, the time is not.
  Operation bad = Operation::parse("{\"createdDateTime\":\"yesterday\",\"lastActionDateTime\":null}");
  CHECK_EQ(bad.created_date_time(), "yesterday");
  CHECK_EQ(bad.created_unix_ms(), std::nullopt);
  CHECK(!bad.created_time().has_value());
  CHECK_EQ(bad.last_action_date_time(), std::nullopt);
  CHECK_EQ(bad.last_action_unix_ms(), std::nullopt);

  // Beyond what system_clock holds (with nanoseconds, 2262): raw ms only.
  Operation far = Operation::parse("{\"createdDateTime\":\"9999-12-31T23:59:59Z\"}");
  CHECK_EQ(far.created_unix_ms(), 253402300799000);
  constexpr auto max_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::duration::max())
                              .count();
  if (max_ms < 253402300799000) {
    CHECK(!far.created_time().has_value());
  } else {
    CHECK(far.created_time().has_value() && ms_of(*far.created_time()) == 253402300799000);
  }
}

// ================================================================== wait

TEST(test_wait_bool_lambda_sees_each_poll) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  std::vector<Seen> seen;
  auto start = std::chrono::steady_clock::now();
  Operation op = c.wait(team_location("cpp-wait-bool", "o"), 10s, [&](const OperationView& now) {
    seen.push_back(seen_of(now));
    return true;
  });
  double took = seconds_since(start);
  check_wait_sequence(seen, 3, __LINE__);
  check_wait_succeeded(op, __LINE__);
  // Two pauses: 50 ms, then 100 ms (doubling).
  CHECK(took >= 0.14 && took < 3.0);
}

TEST(test_wait_void_lambda_keeps_waiting) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  std::vector<Seen> seen;
  auto on_poll = [&seen](const OperationView& now) { seen.push_back(seen_of(now)); };
  static_assert(std::is_void_v<decltype(on_poll(std::declval<const OperationView&>()))>);
  Operation op = c.wait(team_location("cpp-wait-void", "o"), 10s, on_poll);  // an lvalue
  check_wait_sequence(seen, 3, __LINE__);
  check_wait_succeeded(op, __LINE__);
}

// A stateful, move-only callable: taken by reference, never copied.
struct Recorder {
  std::unique_ptr<std::vector<Seen>> seen = std::make_unique<std::vector<Seen>>();
  bool operator()(const OperationView& now) {
    seen->push_back(seen_of(now));
    return true;
  }
};

std::vector<Status> g_function_seen;
bool record_status(const OperationView& now) {
  g_function_seen.push_back(now.status());
  return true;
}

TEST(test_wait_functor_and_function) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  Recorder recorder;
  Operation op = c.wait(team_location("cpp-wait-functor", "o"), 10s, recorder);
  check_wait_sequence(*recorder.seen, 3, __LINE__);
  check_wait_succeeded(op, __LINE__);

  // A plain function, by reference and by pointer (cpp-wait-function cycles).
  g_function_seen.clear();
  Operation by_ref = c.wait(team_location("cpp-wait-function", "o"), 10s, record_status);
  Operation by_ptr = c.wait(team_location("cpp-wait-function", "o"), 10s, &record_status);
  std::vector<Status> want = {Status::NotStarted, Status::InProgress, Status::Succeeded,
                              Status::NotStarted, Status::InProgress, Status::Succeeded};
  CHECK(g_function_seen == want);
  CHECK_EQ(by_ref.status(), Status::Succeeded);
  CHECK_EQ(by_ptr.status(), Status::Succeeded);

  // A std::function, and no callback at all.
  std::function<bool(const OperationView&)> fn = [](const OperationView& v) { return v.id() == "create-succeeded"; };
  CHECK_EQ(c.wait(team_location(TEAM, "create-succeeded"), 10s, fn).status(), Status::Succeeded);
  Operation failed = c.wait(team_location(TEAM, "archive-failed"), 10s);
  CHECK_EQ(failed.status(), Status::Failed);  // the operation failed; the wait did not
  CHECK_EQ(failed.error_code(), "Conflict");
}

struct CallbackFailure : std::runtime_error {
  explicit CallbackFailure(int at_poll) : std::runtime_error("callback failed"), poll(at_poll) {}
  int poll;
};

TEST(test_wait_exception_propagates_and_stops) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  const std::string location = team_location("cpp-wait-throw", "o");
  int calls = 0;
  bool caught = false;
  try {
    (void)c.wait(location, 10s, [&](const OperationView& now) {
      calls++;
      if (now.status() == Status::InProgress) {
        throw CallbackFailure(calls);
      }
      return true;
    });
  } catch (const CallbackFailure& e) {
    caught = true;
    CHECK_EQ(e.poll, 2);  // the very exception thrown, not a copy into another type
  } catch (const Error& e) {
    record(false, std::string("an Error came out instead of the callback's exception: ") + e.what(), __LINE__);
  }
  CHECK(caught);
  CHECK_EQ(calls, 2);
  // The wait stopped: the scenario's next answer is the third, never polled.
  Operation next = c.get_location(location);
  CHECK_EQ(next.status(), Status::Succeeded);

  // Any type at all, not only std::exception.
  const std::string location_int = team_location("cpp-wait-throw-int", "o");
  int thrown = 0;
  try {
    (void)c.wait(location_int, 10s, [](const OperationView&) -> bool { throw 42; });
  } catch (int value) {
    thrown = value;
  }
  CHECK_EQ(thrown, 42);
  CHECK_EQ(c.get_location(location_int).status(), Status::InProgress);  // only one poll was made
}

TEST(test_wait_false_cancels) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  const std::string location = team_location("cpp-wait-cancel", "o");
  int calls = 0;
  auto e = EXPECT_ERROR(c.wait(location, 10s,
                               [&](const OperationView&) {
                                 calls++;
                                 return false;
                               }),
                        Result::Cancelled);
  CHECK_EQ(calls, 1);
  if (e) {
    CHECK_EQ(std::string(e->what()).rfind("TEAMSOP_ERR_CANCELLED: ", 0), 0u);
    CHECK_EQ(e->graph_code(), std::nullopt);
  }
  CHECK_EQ(c.get_location(location).status(), Status::InProgress);  // no second poll
}

TEST(test_wait_callback_calling_the_library) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  // A failure inside the callback, caught there, does not become the wait's error.
  std::optional<Error> inner;
  auto e = EXPECT_ERROR(c.wait(team_location("cpp-wait-nested-caught", "o"), 10s,
                               [&](const OperationView&) {
                                 try {
                                   (void)c.get_team_operation(TEAM, "nope");
                                 } catch (const Error& err) {
                                   inner = err;
                                 }
                                 return false;
                               }),
                        Result::Cancelled);
  CHECK(inner.has_value() && inner->result() == Result::NotFound && inner->graph_code() == "NotFound");
  if (e) {
    CHECK_EQ(e->graph_code(), std::nullopt);  // the wait's own, not the nested call's
    CHECK_EQ(e->http_status(), 200);          // the wait's last answer
  }
  // An Error thrown out of the callback comes out of wait as it is.
  int calls = 0;
  auto nested = EXPECT_ERROR(c.wait(team_location("cpp-wait-nested-uncaught", "o"), 10s,
                                    [&](const OperationView&) {
                                      calls++;
                                      (void)c.get(SEED_CHAT, "no-such-operation");
                                    }),
                             Result::NotFound);
  CHECK_EQ(calls, 1);
  if (nested) {
    CHECK_EQ(nested->http_status(), 404);
    CHECK_EQ(nested->graph_code(), "NotFound");
  }
  // A nested fetch that succeeds.
  std::optional<std::string> nested_id;
  Operation done = c.wait(team_location(TEAM, "create-succeeded"), 10s, [&](const OperationView&) {
    nested_id = std::string(*c.get(SEED_CHAT, SEED_OP).id());
  });
  CHECK_EQ(done.status(), Status::Succeeded);
  CHECK_EQ(nested_id, std::string(SEED_OP));
}

TEST(test_wait_errors) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  // The deadline passes while in progress.
  auto start = std::chrono::steady_clock::now();
  int calls = 0;
  auto t = EXPECT_ERROR(c.wait(team_location("cpp-forever", "o"), 400ms, [&](const OperationView&) { calls++; }),
                        Result::Timeout);
  double took = seconds_since(start);
  CHECK(took >= 0.35 && took < 2.0);
  CHECK(calls >= 2);
  if (t) {
    CHECK(t->message().find("inProgress") != std::string::npos);
    CHECK_EQ(t->http_status(), 200);  // the last response received
  }
  // A 404 that lasts past the deadline.
  auto nf = EXPECT_ERROR(c.wait(team_location(TEAM, "nope"), 300ms), Result::NotFound);
  if (nf) {
    CHECK_EQ(nf->http_status(), 404);
    CHECK_EQ(nf->graph_code(), "NotFound");
  }
  // Refused before anything is sent; the callback is never called.
  calls = 0;
  auto count = [&](const OperationView&) { calls++; };
  EXPECT_ERROR(c.wait(team_location(TEAM, "create-succeeded"), 0ms, count), Result::InvalidArgument);
  EXPECT_ERROR(c.wait(team_location(TEAM, "create-succeeded"), -1ms, count), Result::InvalidArgument);
  EXPECT_ERROR(c.wait(team_location(TEAM, "create-succeeded"), std::chrono::hours(24 * 50), count),
               Result::InvalidArgument);
  EXPECT_ERROR(c.wait("/users/x/operations/y", 1s, count), Result::InvalidArgument);
  CHECK_EQ(calls, 0);
}

// The same two deadlines, when they fall during a GET rather than during a pause
// (the scenarios answer 100 ms late, so the last poll is always cut off). The
// contract (docs/API.md, "Wait" and "Last error fields"; teamsop.h, teamsop_wait
// and teamsop_last_http_status) does not depend on where the deadline falls:
// "when the deadline passes while still 404, the result is TEAMSOP_ERR_NOT_FOUND",
// and the HTTP status is "the status of the last response received during the
// failing call". With fast answers, the checks above meet the same case whenever
// the machine is slow enough to make the last poll straddle the deadline.
TEST(test_wait_deadline_during_a_get) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  auto t = EXPECT_ERROR(c.wait(team_location("cpp-forever-slow", "o"), 300ms), Result::Timeout);
  if (t) {
    CHECK(t->message().find("inProgress") != std::string::npos);
    CHECK_EQ(t->http_status(), 200);  // the inProgress answers were 200s
  }
  auto nf = EXPECT_ERROR(c.wait(team_location("cpp-404-slow", "o"), 300ms), Result::NotFound);
  if (nf) {
    CHECK_EQ(nf->http_status(), 404);  // every answer was a 404
    CHECK_EQ(nf->graph_code(), "NotFound");
  }
}

// ================================================================== batch
//
// Only the emulator's preloaded operations (and team `forbidden`, answered 403),
// so these tests need no scenario: create-succeeded, archive-failed (failed),
// clone-in-progress (never ends).

static_assert(!std::is_copy_constructible_v<teamsop::Batch> && !std::is_copy_assignable_v<teamsop::Batch>);
static_assert(std::is_nothrow_move_constructible_v<teamsop::Batch> &&
              std::is_nothrow_move_assignable_v<teamsop::Batch>);
static_assert(std::is_constructible_v<teamsop::Batch, const Client&>);
static_assert(!std::is_constructible_v<teamsop::Batch, Client&&>, "a Batch borrows its client: no temporary");
static_assert(!std::is_convertible_v<const Client&, teamsop::Batch>, "explicit");

// A cancel trigger of one's own type: Batch::run takes anything with handle().
struct OwnCancel {
  teamsop_cancel* cancel = teamsop_cancel_new();
  OwnCancel() = default;
  OwnCancel(const OwnCancel&) = delete;
  OwnCancel& operator=(const OwnCancel&) = delete;
  ~OwnCancel() { teamsop_cancel_free(cancel); }
  const teamsop_cancel* handle() const { return cancel; }
};

struct BatchDone {
  std::uint64_t tag;
  bool ok;
  Status status;
  std::optional<Result> error;
  std::int32_t http_status;
  std::optional<std::string> graph_code;
};

TEST(test_batch_reports_each_operation_once) {
  Client c = new_client();
  teamsop::Batch batch(c);
  CHECK_EQ(batch.current_gets_per_second(), 10u);
  batch.set_max_gets_per_second(100).set_json_batching(true);
  CHECK_EQ(batch.current_gets_per_second(), 100u);
  batch.add(team_location(TEAM, "create-succeeded"), 10)
      .add(team_location(TEAM, "archive-failed"), 11)
      .add(team_location("forbidden", "o"), 12)
      .add(g_emulator_url + "/v1.0" + team_location(TEAM, "create-succeeded"), 13)
      .add("/chats('" + std::string(SEED_CHAT) + "')/operations('" + SEED_OP + "')", 14);
  CHECK_EQ(batch.pending(), 5u);
  std::vector<BatchDone> done;
  batch.run(20s, [&](const teamsop::BatchReport& report) {
    // The Error is taken on this thread at the report: its result and details.
    done.push_back({report.tag(), report.ok(), report.operation().status(),
                    report.error() ? std::optional<Result>(report.error()->result()) : std::nullopt,
                    report.error() ? report.error()->http_status() : 0,
                    report.error() ? report.error()->graph_code() : std::nullopt});
    CHECK_EQ(report.ok(), static_cast<bool>(report.operation()));
    CHECK_EQ(report.ok(), report.operation().is_terminal());
  });
  CHECK_EQ(batch.pending(), 0u);
  CHECK_EQ(done.size(), 5u);
  // In tag order (the reports come as the operations end).
  std::vector<BatchDone> by_tag;
  for (std::uint64_t tag = 10; tag < 15; tag++) {
    for (const BatchDone& d : done) {
      if (d.tag == tag) by_tag.push_back(d);
    }
  }
  done = by_tag;
  if (CHECK_EQ(done.size(), 5u)) {
    CHECK_EQ(done[0].status, Status::Succeeded);
    CHECK_EQ(done[1].status, Status::Failed);
    CHECK(!done[2].ok);
    CHECK_EQ(done[2].error, Result::Forbidden);
    CHECK_EQ(done[2].http_status, 403);
    CHECK_EQ(done[2].graph_code, "Forbidden");
    CHECK_EQ(done[3].status, Status::Succeeded);
    CHECK_EQ(done[4].status, Status::Succeeded);
    for (std::size_t i = 0; i < 5; i++) CHECK_EQ(done[i].tag, 10 + i);
  }
  // Nothing left: a run ends at once.
  batch.run(1s, [&](const teamsop::BatchReport&) { record(false, "reported twice", __LINE__); });
}

bool count_done(std::uint64_t tag, const Error* error, const OperationView* op) {
  static_cast<void>(tag);
  return (error == nullptr) == (op != nullptr);
}

TEST(test_batch_takes_callables_of_either_shape) {
  Client c = new_client();
  teamsop::Batch batch(c);
  // (tag, error, operation) returning bool, as a lambda...
  batch.add(team_location(TEAM, "create-succeeded"), 1).add(team_location("forbidden", "o"), 2);
  int oks = 0, errors = 0;
  batch.run(20s, [&](std::uint64_t tag, const Error* error, const OperationView* op) {
    if (error != nullptr) {
      errors++;
      CHECK_EQ(tag, 2u);
      CHECK(op == nullptr);
      CHECK_EQ(error->result(), Result::Forbidden);
    } else {
      oks++;
      CHECK_EQ(tag, 1u);
      CHECK(op != nullptr && op->status() == Status::Succeeded);
    }
    return true;
  });
  CHECK_EQ(oks, 1);
  CHECK_EQ(errors, 1);
  // ...as a plain function...
  batch.add(team_location(TEAM, "archive-failed"), 3);
  batch.run(20s, count_done);
  // ...and as a functor kept by reference (its state is seen after).
  struct Counter {
    int calls = 0;
    void operator()(const teamsop::BatchReport&) { calls++; }
  } counter;
  batch.add(team_location(TEAM, "archive-failed"), 4).add(team_location(TEAM, "archive-failed"), 5);
  batch.run(20s, counter);
  CHECK_EQ(counter.calls, 2);
  // ...or none at all.
  batch.add(team_location(TEAM, "create-succeeded"), 6);
  batch.run(20s);
  CHECK_EQ(batch.pending(), 0u);
}

struct BatchCallbackFailure {
  std::uint64_t tag;
};

TEST(test_batch_exception_stops_the_run_and_comes_out) {
  Client c = new_client();
  teamsop::Batch batch(c);
  batch.set_json_batching(false);  // one by one: one report per GET
  for (std::uint64_t i = 0; i < 5; i++) batch.add(team_location(TEAM, "create-succeeded"), i);
  int calls = 0;
  bool caught = false;
  try {
    batch.run(20s, [&](const teamsop::BatchReport& report) {
      if (++calls == 2) throw BatchCallbackFailure{report.tag()};
    });
  } catch (const BatchCallbackFailure& e) {
    caught = true;
    CHECK_EQ(e.tag, 1u);  // the very exception thrown
  } catch (const Error& e) {
    record(false, std::string("an Error came out instead of the callback's exception: ") + e.what(), __LINE__);
  }
  CHECK(caught);
  CHECK_EQ(calls, 2);
  CHECK_EQ(batch.pending(), 3u);  // the one that threw counts as reported
  // The batch goes on: the others are reported by the next run.
  std::vector<std::uint64_t> rest;
  batch.run(20s, [&](const teamsop::BatchReport& report) { rest.push_back(report.tag()); });
  CHECK(rest == std::vector<std::uint64_t>({2, 3, 4}));
  // Any type, not only std::exception.
  batch.add(team_location(TEAM, "create-succeeded"), 9);
  int thrown = 0;
  try {
    batch.run(20s, [](const teamsop::BatchReport&) -> bool { throw 42; });
  } catch (int value) {
    thrown = value;
  }
  CHECK_EQ(thrown, 42);
}

TEST(test_batch_false_timeout_and_cancel_end_the_run) {
  Client c = new_client();
  teamsop::Batch batch(c);
  batch.add(team_location(TEAM, "create-succeeded"), 1).add(team_location(TEAM, "create-succeeded"), 2);
  auto e = EXPECT_ERROR(batch.run(20s, [](const teamsop::BatchReport&) { return false; }), Result::Cancelled);
  CHECK_EQ(batch.pending(), 1u);
  batch.run(20s);
  // An operation that never ends: the deadline.
  c.set_poll_interval(100ms);
  batch.add(team_location(TEAM, "clone-in-progress"), 3);
  auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR(batch.run(300ms, [](const teamsop::BatchReport&) {}), Result::Timeout);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK_EQ(batch.pending(), 1u);
  // A C trigger, pulled from another thread.
  teamsop_cancel* raw = teamsop_cancel_new();
  std::thread puller([raw] {
    std::this_thread::sleep_for(200ms);
    teamsop_cancel_trigger(raw);
  });
  EXPECT_ERROR(batch.run(20s, [](const teamsop::BatchReport&) {}, raw), Result::Cancelled);
  puller.join();
  teamsop_cancel_free(raw);
  // A trigger object with handle() (as teamsop::Cancel), already pulled.
  OwnCancel own;
  teamsop_cancel_trigger(own.cancel);
  EXPECT_ERROR(batch.run(20s, [](const teamsop::BatchReport&) {}, own), Result::Cancelled);
  // NULL: no cancel.
  EXPECT_ERROR(batch.run(200ms, [](const teamsop::BatchReport&) {}, nullptr), Result::Timeout);
  CHECK_EQ(batch.pending(), 1u);
}

TEST(test_batch_arguments_and_moves) {
  Client c = new_client();
  teamsop::Batch batch(c);
  EXPECT_ERROR(batch.add("/nope('x')", 1), Result::InvalidArgument);
  EXPECT_ERROR(batch.add(std::string("/teams('a')/operations('b\0c')", 30), 1), Result::InvalidArgument);
  EXPECT_ERROR(batch.set_max_gets_per_second(0), Result::InvalidArgument);
  EXPECT_ERROR(batch.set_max_gets_per_second(1001), Result::InvalidArgument);
  EXPECT_ERROR(batch.run(-1ms), Result::InvalidArgument);
  EXPECT_ERROR(batch.run(0ms), Result::InvalidArgument);
  CHECK_EQ(batch.pending(), 0u);
  batch.add(team_location(TEAM, "create-succeeded"), 1);
  // Moves carry the pending operations; a moved-from batch refuses every call.
  teamsop::Batch moved(std::move(batch));
  CHECK(!batch);
  CHECK(batch.handle() == nullptr);
  CHECK_EQ(batch.pending(), 0u);
  CHECK_EQ(batch.current_gets_per_second(), 0u);
  CHECK_EQ(moved.pending(), 1u);
  EXPECT_ERROR(batch.add(team_location(TEAM, "create-succeeded"), 2), Result::InvalidArgument);
  EXPECT_ERROR(batch.run(1s), Result::InvalidArgument);
  teamsop::Batch other(c);
  other.add(team_location(TEAM, "create-succeeded"), 7).add(team_location(TEAM, "create-succeeded"), 8);
  moved = std::move(other);  // frees moved's own batch (and its one operation)
  CHECK_EQ(moved.pending(), 2u);
  moved = std::move(moved);  // self-assignment is a no-op
  CHECK_EQ(moved.pending(), 2u);
  batch = std::move(moved);  // a moved-from batch may be assigned to
  CHECK_EQ(batch.pending(), 2u);
  batch.run(20s);
  // A moved-from client gives no batch.
  Client gone = new_client();
  Client taker(std::move(gone));
  EXPECT_ERROR(teamsop::Batch{gone}, Result::InvalidArgument);
}

TEST(test_batch_calls_from_its_own_callback_throw_and_others_work) {
  Client c = new_client();
  teamsop::Batch batch(c);
  batch.add(team_location(TEAM, "create-succeeded"), 1).add(team_location(TEAM, "archive-failed"), 2);
  int refused = 0;
  batch.run(20s, [&](const teamsop::BatchReport& report) {
    try {
      batch.add(team_location(TEAM, "create-succeeded"), 99);
    } catch (const Error& e) {
      refused += e.result() == Result::InvalidArgument;
    }
    try {
      batch.run(1s);
    } catch (const Error& e) {
      refused += e.result() == Result::InvalidArgument;
    }
    CHECK(batch.pending() <= 1u);
    // Another batch, and a GET, on the same client: fine.
    teamsop::Batch nested(c);
    nested.add(team_location(TEAM, "archive-failed"), report.tag());
    nested.run(10s);
    CHECK_EQ(c.get_location(team_location(TEAM, "create-succeeded")).status(), Status::Succeeded);
  });
  CHECK_EQ(refused, 4);
  CHECK_EQ(batch.pending(), 0u);
}

TEST(test_batches_on_threads_share_a_client) {
  Client c = new_client();
  std::atomic<int> reported{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      try {
        teamsop::Batch batch(c);
        batch.set_max_gets_per_second(50);
        for (std::uint64_t i = 0; i < 25; i++) {
          batch.add(team_location(TEAM, i % 2 ? "archive-failed" : "create-succeeded"), 100 * t + i);
        }
        batch.run(30s, [&](const teamsop::BatchReport& r) {
          reported++;
          std::uint64_t i = r.tag() % 100;
          bool ok = r.tag() / 100 == static_cast<std::uint64_t>(t) && r.ok() &&
                    r.operation().status() == (i % 2 ? Status::Failed : Status::Succeeded);
          wrong += !ok;
        });
      } catch (const Error&) {
        wrong++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK_EQ(reported.load(), 100);
  CHECK_EQ(wrong.load(), 0);
}

// ================================================================== threads

TEST(test_threads_share_a_client_errors_stay_per_thread) {
  Client c = new_client();
  c.set_poll_interval(50ms);
  Client wrong(WRONG_TOKEN);
  wrong.set_base_url(g_base_url);
  std::atomic<int> failures{0};
  auto worker = [&](int kind) {
    for (int i = 0; i < 8; i++) {
      try {
        if (kind == 0) {
          if (c.get(SEED_CHAT, SEED_OP).id() != SEED_OP) failures++;
        } else if (kind == 1) {
          (void)c.get("cpp-404", "o");
          failures++;
        } else {
          (void)wrong.get(SEED_CHAT, SEED_OP);
          failures++;
        }
      } catch (const Error& e) {
        bool ok = (kind == 1 && e.result() == Result::NotFound && e.http_status() == 404 &&
                   e.graph_code() == "NotFound" && e.request_id() == SCENARIO_REQUEST_ID) ||
                  (kind == 2 && e.result() == Result::Unauthorized && e.http_status() == 401 &&
                   e.graph_code() == "InvalidAuthenticationToken");
        if (!ok) failures++;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; t++) {
    threads.emplace_back(worker, t % 3);
  }
  // And a wait on this thread meanwhile, with its callback here.
  std::vector<Seen> seen;
  Operation op = c.wait(team_location("cpp-wait-thread", "o"), 10s,
                        [&](const OperationView& now) { seen.push_back(seen_of(now)); });
  for (auto& th : threads) th.join();
  CHECK_EQ(failures.load(), 0);
  check_wait_sequence(seen, 3, __LINE__);
  check_wait_succeeded(op, __LINE__);
}

// ================================================================== long runs

// Cancel: move-only, a trigger usable through a const reference.
static_assert(!std::is_copy_constructible_v<teamsop::Cancel> && !std::is_copy_assignable_v<teamsop::Cancel>);
static_assert(std::is_nothrow_move_constructible_v<teamsop::Cancel> &&
              std::is_nothrow_move_assignable_v<teamsop::Cancel>);
static_assert(noexcept(std::declval<const teamsop::Cancel&>().trigger()));
static_assert(noexcept(std::declval<const teamsop::Cancel&>().triggered()));
static_assert(static_cast<int>(teamsop::LogLevel::Error) == TEAMSOP_LOG_ERROR && TEAMSOP_LOG_ERROR == 1);
static_assert(static_cast<int>(teamsop::LogLevel::Debug) == TEAMSOP_LOG_DEBUG && TEAMSOP_LOG_DEBUG == 4);
// A Client that holds callables still moves without throwing.
static_assert(std::is_nothrow_move_constructible_v<Client> && std::is_nothrow_move_assignable_v<Client>);

const char* const CAE_CLAIMS = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1604106651\"}}}";

// A token of the emulator's that the library takes for expiring in `from_now`.
teamsop::Token token_expiring_in(std::chrono::seconds from_now) {
  return teamsop::Token{g_token, std::chrono::system_clock::now() + from_now};
}

TEST(test_cancel_basics) {
  teamsop::Cancel cancel;
  CHECK(static_cast<bool>(cancel));
  CHECK(cancel.handle() != nullptr);
  CHECK(!cancel.triggered());
  cancel.trigger();
  cancel.trigger();
  CHECK(cancel.triggered());
  CHECK(teamsop_cancel_is_triggered(cancel.handle()));
  teamsop::Cancel moved(std::move(cancel));
  CHECK(moved.triggered());
  CHECK(!cancel);  // NOLINT: reading a moved-from Cancel is documented
  CHECK(!cancel.triggered());
  cancel.trigger();  // no-op
  Client c = new_client();
  EXPECT_ERROR(c.wait(team_location(TEAM, "create-succeeded"), 10s, cancel), Result::InvalidArgument);
  cancel = teamsop::Cancel();
  CHECK(!cancel.triggered());
  Operation op = c.wait(team_location(TEAM, "create-succeeded"), 10s, cancel);
  CHECK_EQ(op.status(), Status::Succeeded);
}

TEST(test_wait_cancelled_from_another_thread) {
  Client c = new_client();
  c.set_timeout(60s);
  for (const char* op_id : {"cpp-cancel-slow", "cpp-cancel-progress"}) {
    c.set_poll_interval(30s);
    teamsop::Cancel cancel;
    std::atomic<int> polls{0};
    std::chrono::steady_clock::time_point pulled;
    std::thread trigger([&] {
      std::this_thread::sleep_for(300ms);
      pulled = std::chrono::steady_clock::now();
      cancel.trigger();
    });
    auto e = EXPECT_ERROR(c.wait(team_location(op_id, "o"), 120s, [&](const OperationView&) { polls++; },
                                 cancel),
                          Result::Cancelled);
    auto returned = std::chrono::steady_clock::now();
    trigger.join();
    double latency = std::chrono::duration<double>(returned - pulled).count();
    std::cout << "  cancelled " << op_id << " " << latency * 1000 << " ms after the trigger\n";
    CHECK(latency >= 0 && latency < 0.1);
    CHECK_EQ(polls.load(), std::string(op_id) == "cpp-cancel-slow" ? 0 : 1);
    // The client goes on.
    CHECK_EQ(c.get_team_operation(TEAM, "create-succeeded").status(), Status::Succeeded);
  }
  // Already triggered: nothing is sent, the callback never called.
  teamsop::Cancel pulled;
  pulled.trigger();
  int polls = 0;
  auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR(c.wait(team_location(TEAM, "create-succeeded"), 10s, [&](const OperationView&) { polls++; },
                      pulled),
               Result::Cancelled);
  CHECK(seconds_since(start) < 0.1);
  CHECK_EQ(polls, 0);
  // A callback's exception still comes out as it is.
  teamsop::Cancel unused;
  bool caught = false;
  try {
    (void)c.wait(team_location(TEAM, "create-succeeded"), 10s,
                 [](const OperationView&) -> bool { throw CallbackFailure(7); }, unused);
  } catch (const CallbackFailure& f) {
    caught = f.poll == 7;
  }
  CHECK(caught);
}

TEST(test_token_provider_before_expiry) {
  for (auto [lifetime, want_calls] : {std::pair{std::chrono::seconds(6 * 60), 1},
                                      std::pair{std::chrono::seconds(4 * 60), 3}}) {
    Client c;
    c.set_base_url(g_base_url);
    int calls = 0;
    std::vector<bool> had_claims;
    c.set_token_provider([&, lifetime = lifetime](std::optional<std::string_view> claims) {
      calls++;
      had_claims.push_back(claims.has_value());
      return token_expiring_in(lifetime);
    });
    for (int i = 0; i < 3; i++) {
      CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
    }
    CHECK_EQ(calls, want_calls);
    CHECK(std::all_of(had_claims.begin(), had_claims.end(), [](bool b) { return !b; }));
  }
}

TEST(test_token_provider_after_a_401_gets_the_claims) {
  Client c(WRONG_TOKEN);
  c.set_base_url(g_base_url);
  std::vector<std::optional<std::string>> claims_seen;
  c.set_token_provider([&](std::optional<std::string_view> claims) {
    claims_seen.emplace_back(claims ? std::optional<std::string>(std::string(*claims)) : std::nullopt);
    return teamsop::Token{g_token, std::nullopt};
  });
  // The set token is used until the 401; one renewal, one resend.
  Operation op = c.get_team_operation("cpp-cae", "o");
  CHECK_EQ(op.status(), Status::Succeeded);
  CHECK_EQ(claims_seen.size(), 1u);
  if (!claims_seen.empty()) {
    CHECK_EQ(claims_seen[0], std::optional<std::string>(CAE_CLAIMS));
  }
  // Refused again after the renewal: no loop, the 401 is the answer.
  auto e = EXPECT_ERROR(c.get_team_operation("cpp-cae-always", "o"), Result::Unauthorized);
  CHECK_EQ(claims_seen.size(), 2u);
  if (e) {
    CHECK_EQ(e->http_status(), 401);
    CHECK(std::string(e->what()).find(g_token) == std::string::npos);
  }
}

struct ProviderFailure : std::runtime_error {
  ProviderFailure() : std::runtime_error("no sign-in for this account") {}
};

TEST(test_token_provider_exceptions_never_cross_the_c_library) {
  Client c;
  c.set_base_url(g_base_url);
  c.set_token_provider([](std::optional<std::string_view>) -> teamsop::Token { throw ProviderFailure(); });
  auto e = EXPECT_ERROR(c.get(SEED_CHAT, SEED_OP), Result::Unauthorized);
  if (e) {
    CHECK_EQ(e->message(), "the token provider threw: no sign-in for this account");
    CHECK_EQ(e->http_status(), 0);
  }
  // The exception itself is nested in the Error.
  bool nested = false;
  try {
    (void)c.get(SEED_CHAT, SEED_OP);
  } catch (const Error& err) {
    try {
      std::rethrow_if_nested(err);
    } catch (const ProviderFailure&) {
      nested = true;
    }
  }
  CHECK(nested);
  // Through a wait, and for an exception of any type.
  EXPECT_ERROR(c.wait(team_location(TEAM, "create-succeeded"), 10s), Result::Unauthorized);
  c.set_token_provider([](std::optional<std::string_view>) -> teamsop::Token { throw 42; });
  int thrown = 0;
  try {
    (void)c.get(SEED_CHAT, SEED_OP);
  } catch (const Error& err) {
    CHECK_EQ(err.message(), "the token provider threw an exception");
    try {
      std::rethrow_if_nested(err);
    } catch (int value) {
      thrown = value;
    }
  }
  CHECK_EQ(thrown, 42);
  // A renewal before expiry that throws while the token in hand still works:
  // the call goes on, and nothing is left over for the next call.
  int calls = 0;
  c.set_token_provider([&](std::optional<std::string_view>) -> teamsop::Token {
    if (++calls > 1) {
      throw ProviderFailure();
    }
    return token_expiring_in(std::chrono::seconds(4 * 60));
  });
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
  CHECK_EQ(calls, 2);
  c.clear_token_provider();
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
  CHECK_EQ(calls, 2);
}

TEST(test_token_provider_answers_refused_without_quoting_them) {
  const std::string secret = "cpp-secret-part";
  const std::pair<std::string, std::string> bad[] = {
      {"", "empty"},
      {secret + " " + secret, "outside visible ASCII"},
      {secret + std::string(1, '\0') + secret, "outside visible ASCII"},
      {secret + "\xc3\xa9", "outside visible ASCII"},
      {secret + std::string(20000, 'x'), "does not fit"},
  };
  for (const auto& [token, why] : bad) {
    Client c;
    c.set_base_url(g_base_url);
    c.set_token_provider([token = token](std::optional<std::string_view>) { return teamsop::Token{token, {}}; });
    auto e = EXPECT_ERROR(c.get(SEED_CHAT, SEED_OP), Result::Unauthorized);
    if (e) {
      CHECK(e->message().find(why) != std::string::npos);
      CHECK(e->message().find(secret) == std::string::npos);
      CHECK_EQ(e->http_status(), 0);
    }
  }
}

// Counts live copies, to see where a callable lives and when it goes.
struct Tracked {
  std::shared_ptr<std::atomic<int>> live;
  std::shared_ptr<std::atomic<int>> calls;
  explicit Tracked(std::shared_ptr<std::atomic<int>> l, std::shared_ptr<std::atomic<int>> c)
      : live(std::move(l)), calls(std::move(c)) {
    (*live)++;
  }
  Tracked(const Tracked& o) : live(o.live), calls(o.calls) { (*live)++; }
  Tracked(Tracked&& o) noexcept : live(o.live), calls(o.calls) { (*live)++; }
  ~Tracked() { (*live)--; }
  teamsop::Token operator()(std::optional<std::string_view>) const {
    (*calls)++;
    return teamsop::Token{g_token, std::nullopt};
  }
  void operator()(teamsop::LogLevel, std::string_view) const { (*calls)++; }
};

TEST(test_callables_are_owned_by_the_client) {
  auto live = std::make_shared<std::atomic<int>>(0);
  auto provided = std::make_shared<std::atomic<int>>(0);
  auto logged = std::make_shared<std::atomic<int>>(0);
  {
    Client first;
    first.set_base_url(g_base_url);
    {
      Tracked provider(live, provided);
      first.set_token_provider(provider);  // copied in
      first.set_log(teamsop::LogLevel::Info, Tracked(live, logged));  // moved in
    }
    CHECK_EQ(live->load(), 2);  // the Client's own copies, nothing else
    Client second(std::move(first));
    CHECK_SEED(second.get(SEED_CHAT, SEED_OP));
    Client third;
    third = std::move(second);
    CHECK_SEED(third.get(SEED_CHAT, SEED_OP));
    CHECK_EQ(provided->load(), 1);  // one token, asked once, still in use
    CHECK_EQ(logged->load(), 2);    // one INFO line per GET
    // Replaced: the old ones are kept until the Client goes (calls under way
    // on other threads may still be using them).
    third.set_log(teamsop::LogLevel::Info, Tracked(live, logged));
    CHECK_EQ(live->load(), 3);
    third.set_log_off();
    CHECK_SEED(third.get(SEED_CHAT, SEED_OP));
    CHECK_EQ(logged->load(), 2);
  }
  CHECK_EQ(live->load(), 0);
}

TEST(test_token_provider_called_once_at_a_time) {
  Client c;
  c.set_base_url(g_base_url);
  std::atomic<int> active{0}, most{0}, calls{0};
  c.set_token_provider([&](std::optional<std::string_view>) {
    int now = ++active;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    calls++;
    std::this_thread::sleep_for(20ms);
    active--;
    return token_expiring_in(std::chrono::seconds(4 * 60));  // renewed before each request
  });
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; i++) {
        try {
          if (c.get(SEED_CHAT, SEED_OP).id() != SEED_OP) bad++;
        } catch (const Error&) {
          bad++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK_EQ(bad.load(), 0);
  CHECK_EQ(most.load(), 1);
  CHECK(calls.load() >= 1 && calls.load() <= 32);
}

TEST(test_log_lines_to_any_callable) {
  Client c = new_client();
  std::vector<std::pair<teamsop::LogLevel, std::string>> lines;
  c.set_log(teamsop::LogLevel::Debug,
            [&](teamsop::LogLevel level, std::string_view line) { lines.emplace_back(level, std::string(line)); });
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
  EXPECT_ERROR(c.get("cpp-404", "o"), Result::NotFound);
  auto count = [&](teamsop::LogLevel level, std::string_view needle) {
    return std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
      return l.first == level && l.second.find(needle) != std::string::npos;
    });
  };
  CHECK_EQ(count(teamsop::LogLevel::Info, "GET "), 2);
  CHECK_EQ(count(teamsop::LogLevel::Error, "TEAMSOP_ERR_NOT_FOUND"), 1);
  CHECK(count(teamsop::LogLevel::Debug, "connection") >= 1);
  for (const auto& [level, line] : lines) {
    CHECK(line.find(g_token) == std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
  }
  // A sink that throws: the line is lost, the call goes on.
  c.set_log(teamsop::LogLevel::Info, [](teamsop::LogLevel, std::string_view) { throw std::runtime_error("full"); });
  CHECK_SEED(c.get(SEED_CHAT, SEED_OP));
  // Levels outside the enum are refused, the setting unchanged.
  EXPECT_ERROR(c.set_log(static_cast<teamsop::LogLevel>(0), [](teamsop::LogLevel, std::string_view) {}),
               Result::InvalidArgument);
  EXPECT_ERROR(c.set_log(static_cast<teamsop::LogLevel>(5), [](teamsop::LogLevel, std::string_view) {}),
               Result::InvalidArgument);
  // An empty Client refuses every long-run setter.
  Client moved(std::move(c));
  EXPECT_ERROR(c.set_log(teamsop::LogLevel::Info, [](teamsop::LogLevel, std::string_view) {}),
               Result::InvalidArgument);
  EXPECT_ERROR(c.set_token_provider([](std::optional<std::string_view>) { return teamsop::Token{}; }),
               Result::InvalidArgument);
  EXPECT_ERROR(c.set_log_off(), Result::InvalidArgument);
  EXPECT_ERROR(c.clear_token_provider(), Result::InvalidArgument);
}

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    std::cerr << "test_wrapper: " << name << " is not set: run under scripts/with-emulator.sh\n";
    std::exit(2);
  }
  return value;
}

// Marks the tests named on the command line (all when none is). Returns -1 to
// go on, or the exit status: 0 after --list or --help, 64 for a bad argument.
int select_tests(int argc, char** argv, std::vector<bool>& selected) {
  const std::vector<TestCase>& all = tests();
  auto matches = [](const char* arg, const std::string& name) {
    std::string bare = name.rfind("test_", 0) == 0 ? name.substr(5) : name;
    return fnmatch(arg, name.c_str(), 0) == 0 || fnmatch(arg, bare.c_str(), 0) == 0;
  };
  selected.assign(all.size(), argc < 2);
  int status = -1;
  for (int a = 1; a < argc; a++) {
    std::string arg = argv[a];
    if (arg == "--list") {
      for (const TestCase& t : all) std::cout << t.name << "\n";
      return 0;
    }
    if (arg == "--help" || arg == "-h") {
      std::cout << "usage: test_wrapper [--list] [NAME...]  (NAME: a test, with or without test_, or a pattern)\n";
      return 0;
    }
    if (arg[0] == '-') {
      std::cerr << "test_wrapper: unknown option " << arg << "\nTry 'test_wrapper --help'.\n";
      return 64;
    }
    bool found = false;
    for (std::size_t i = 0; i < all.size(); i++) {
      if (matches(argv[a], all[i].name)) {
        selected[i] = true;
        found = true;
      }
    }
    if (!found) {
      std::cerr << "test_wrapper: no test named '" << arg << "' ('test_wrapper --list' lists them)\n";
      status = 64;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<bool> selected;
  int status = select_tests(argc, argv, selected);
  if (status >= 0) {
    return status;
  }
  g_base_url = env("TEAMSOP_BASE_URL");
  g_token = env("TEAMSOP_TOKEN");
  g_emulator_url = env("TEAMSOP_EMULATOR_URL");
  g_fixture = read_file("tests/fixtures/seed-operation.json");
  if (g_fixture.empty()) {
    std::cerr << "test_wrapper: cannot read tests/fixtures/seed-operation.json (run from the repository root)\n";
    return 2;
  }
  int failed_tests = 0;
  int run = 0;
  for (std::size_t i = 0; i < tests().size(); i++) {
    if (!selected[i]) continue;
    const TestCase& t = tests()[i];
    run++;
    g_test = t.name;
    int before = g_failures;
    try {
      t.fn();
    } catch (const std::exception& e) {
      record(false, std::string("uncaught exception: ") + e.what(), 0);
    } catch (...) {
      record(false, "uncaught exception of an unknown type", 0);
    }
    bool ok = g_failures == before;
    failed_tests += !ok;
    std::cout << (ok ? "ok   " : "FAIL ") << t.name << "\n";
  }
  std::cout << "test_wrapper: " << run << " tests, " << g_checks << " checks, " << g_failures
            << " failed checks in " << failed_tests << " tests\n";
  std::cout << (g_failures == 0 ? "ALL PASSED" : "FAILED") << std::endl;
  return g_failures == 0 ? 0 : 1;
}
