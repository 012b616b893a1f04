// TeamsOpTests.cs: tests of the .NET binding (bindings/dotnet/TeamsOp.cs) against
// the Graph emulator. A self-contained runner: no test framework needed.
//
//   mcs -warnaserror+ -out:TeamsOpTests.exe bindings/dotnet/tests/TeamsOpTests.cs bindings/dotnet/TeamsOp.cs
//   LD_LIBRARY_PATH=target/debug scripts/with-emulator.sh \
//     --scenarios bindings/dotnet/tests/scenarios.json -- mono --debug TeamsOpTests.exe [NAME-FILTER]
//
// Needs TEAMSOP_BASE_URL, TEAMSOP_TOKEN and TEAMSOP_EMULATOR_URL (set by
// scripts/with-emulator.sh) and the repository's tests/fixtures/seed-operation.json
// (found from the working directory or the executable's directory, upwards).
// Exit status: 0 when every test passed, 1 otherwise, 2 for a setup error.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TeamsOp;

namespace TeamsOp.Tests
{
    /// <summary>A failed check.</summary>
    internal sealed class AssertionException : Exception
    {
        internal AssertionException(string message) : base(message) { }
    }

    /// <summary>The assertions, each naming what it compared.</summary>
    internal static class Assert
    {
        internal static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                throw new AssertionException(string.Format("{0}: expected {1}, got {2}", what, Show(expected), Show(actual)));
            }
        }

        internal static void True(bool condition, string what)
        {
            if (!condition)
            {
                throw new AssertionException(what + ": expected true");
            }
        }

        internal static void Null(object value, string what)
        {
            if (value != null)
            {
                throw new AssertionException(string.Format("{0}: expected null, got {1}", what, Show(value)));
            }
        }

        internal static void NotNull(object value, string what)
        {
            if (value == null)
            {
                throw new AssertionException(what + ": expected a value, got null");
            }
        }

        internal static void Same(object expected, object actual, string what)
        {
            if (!ReferenceEquals(expected, actual))
            {
                throw new AssertionException(string.Format("{0}: expected the same object {1}, got {2}", what, Show(expected), Show(actual)));
            }
        }

        internal static void Contains(string needle, string haystack, string what)
        {
            if (haystack == null || haystack.IndexOf(needle, StringComparison.Ordinal) < 0)
            {
                throw new AssertionException(string.Format("{0}: {1} does not contain {2}", what, Show(haystack), Show(needle)));
            }
        }

        internal static void DoesNotContain(string needle, string haystack, string what)
        {
            if (haystack != null && haystack.IndexOf(needle, StringComparison.Ordinal) >= 0)
            {
                throw new AssertionException(string.Format("{0}: {1} contains {2}", what, Show(haystack), Show(needle)));
            }
        }

        internal static void Between(double low, double high, double actual, string what)
        {
            if (actual < low || actual > high)
            {
                throw new AssertionException(string.Format("{0}: expected {1} to {2}, got {3}", what, low, high, actual));
            }
        }

        /// <summary>Runs <paramref name="action"/>; it must throw exactly <typeparamref name="TException"/> (not a subclass).</summary>
        internal static TException Throws<TException>(Action action, string what) where TException : Exception
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                if (e.GetType() == typeof(TException))
                {
                    return (TException)e;
                }
                throw new AssertionException(string.Format("{0}: expected {1}, got {2}: {3}", what, typeof(TException).Name, e.GetType().Name, e.Message));
            }
            throw new AssertionException(string.Format("{0}: expected {1}, nothing was thrown", what, typeof(TException).Name));
        }

        /// <summary>Runs <paramref name="action"/>; it must throw a TeamsOpException with <paramref name="result"/>.</summary>
        internal static TeamsOpException Fails(Result result, Action action, string what)
        {
            TeamsOpException e = Throws<TeamsOpException>(action, what);
            Equal(result, e.Result, what + ": Result");
            True(!string.IsNullOrEmpty(e.Message), what + ": Message is not empty");
            return e;
        }

        internal static string Show(object value)
        {
            if (value == null)
            {
                return "null";
            }
            if (value is string)
            {
                return "\"" + value + "\"";
            }
            var list = value as System.Collections.IEnumerable;
            if (list != null)
            {
                return "[" + string.Join(", ", list.Cast<object>().Select(Show)) + "]";
            }
            return value.ToString();
        }
    }

    internal static class Program
    {
        private const string SeedChat = "19:c253a29b5f694b55a6baad8e83510af7@thread.v2";
        private const string SeedOp = "2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4";
        private const string Team = "8b081ef6-4792-4def-b2c9-c363a1bf41d5";
        private const string WrongToken = "dotnet-wrong-token-4711";

        private static string baseUrl;
        private static string token;
        private static string emulatorUrl;
        private static string seedFixture;

        private static int Main(string[] args)
        {
            baseUrl = Environment.GetEnvironmentVariable("TEAMSOP_BASE_URL");
            token = Environment.GetEnvironmentVariable("TEAMSOP_TOKEN");
            emulatorUrl = Environment.GetEnvironmentVariable("TEAMSOP_EMULATOR_URL");
            if (string.IsNullOrEmpty(baseUrl) || string.IsNullOrEmpty(token) || string.IsNullOrEmpty(emulatorUrl))
            {
                Console.Error.WriteLine("TeamsOpTests: run under scripts/with-emulator.sh (TEAMSOP_BASE_URL, TEAMSOP_TOKEN, TEAMSOP_EMULATOR_URL)");
                return 2;
            }
            string fixture = FindUp(Path.Combine("tests", Path.Combine("fixtures", "seed-operation.json")));
            if (fixture == null)
            {
                Console.Error.WriteLine("TeamsOpTests: cannot find tests/fixtures/seed-operation.json above the working directory");
                return 2;
            }
            seedFixture = File.ReadAllText(fixture, new UTF8Encoding(false));

            var tests = new List<KeyValuePair<string, Action>>
            {
                T("Version", Version),
                T("ResultValuesAndNames", ResultValuesAndNames),
                T("StatusAndTypeValues", StatusAndTypeValues),
                T("SeedChatOperationEveryField", SeedChatOperationEveryField),
                T("SeedByLocationForms", SeedByLocationForms),
                T("TeamOperations", TeamOperations),
                T("TeamOperationV1Location", TeamOperationV1Location),
                T("Select", Select),
                T("NonAsciiRoundTripOverHttp", NonAsciiRoundTripOverHttp),
                T("NonAsciiUnknownIdIsNotFound", NonAsciiUnknownIdIsNotFound),
                T("IdsAreOnePathSegment", IdsAreOnePathSegment),
                T("NotFoundException", NotFoundException),
                T("NotFoundUnscriptedHasRequestId", NotFoundUnscriptedHasRequestId),
                T("UnauthorizedWrongToken", UnauthorizedWrongToken),
                T("UnauthorizedScripted", UnauthorizedScripted),
                T("Forbidden", Forbidden),
                T("Throttled", Throttled),
                T("HttpError", HttpError),
                T("ParseErrorOverHttp", ParseErrorOverHttp),
                T("TooLarge", TooLarge),
                T("RequestTimeout", RequestTimeout),
                T("Transport", Transport),
                T("NoTokenSendsNothing", NoTokenSendsNothing),
                T("InvalidIds", InvalidIds),
                T("NullArguments", NullArguments),
                T("StringsCCannotCarry", StringsCCannotCarry),
                T("ConstructorErrors", ConstructorErrors),
                T("Setters", Setters),
                T("RefusedBaseUrlLeavesSettingUnchanged", RefusedBaseUrlLeavesSettingUnchanged),
                T("ParseSeedStringAndBytes", ParseSeedStringAndBytes),
                T("ParseEmptyObject", ParseEmptyObject),
                T("ParseErrors", ParseErrors),
                T("ParseUnrecognizedAndTimes", ParseUnrecognizedAndTimes),
                T("ParseNonAscii", ParseNonAscii),
                T("WaitSeesEachStatusInOrder", WaitSeesEachStatusInOrder),
                T("WaitWithoutCallback", WaitWithoutCallback),
                T("WaitCallbackFalseIsCancelled", WaitCallbackFalseIsCancelled),
                T("WaitCallbackFalseOnTerminalPollIsCancelled", WaitCallbackFalseOnTerminalPollIsCancelled),
                T("WaitCallbackThrowsSameException", WaitCallbackThrowsSameException),
                T("WaitCallbackThrowsOnTerminalPoll", WaitCallbackThrowsOnTerminalPoll),
                T("WaitCallbackFailingCallInside", WaitCallbackFailingCallInside),
                T("WaitViewIsBorrowed", WaitViewIsBorrowed),
                T("WaitTimeout", WaitTimeout),
                T("WaitTimeoutKeepsLastResponse", WaitTimeoutKeepsLastResponse),
                T("WaitNotFound", WaitNotFound),
                T("WaitNotFoundWhenDeadlineCutsAPoll", WaitNotFoundWhenDeadlineCutsAPoll),
                T("WaitArguments", WaitArguments),
                T("WaitCancellationToken", WaitCancellationToken),
                T("CancelInAGet", CancelInAGet),
                T("CancelInARetryPause", CancelInARetryPause),
                T("CancelBetweenPolls", CancelBetweenPolls),
                T("WaitAsync", WaitAsync),
                T("WaitAsyncCancelled", WaitAsyncCancelled),
                T("TokenProviderBeforeExpiry", TokenProviderBeforeExpiry),
                T("TokenProviderAfterA401GetsTheClaims", TokenProviderAfterA401GetsTheClaims),
                T("TokenProviderExceptionsStayInDotnet", TokenProviderExceptionsStayInDotnet),
                T("TokenProviderBadTokens", TokenProviderBadTokens),
                T("TokenProviderKeptAlive", TokenProviderKeptAlive),
                T("TokenProviderCalledOnceAtATime", TokenProviderCalledOnceAtATime),
                T("LogLines", LogLines),
                T("BatchReportsEachOperationOnce", BatchReportsEachOperationOnce),
                T("BatchArguments", BatchArguments),
                T("BatchCallbackFalseAndExceptions", BatchCallbackFalseAndExceptions),
                T("BatchCallbackCallsBackIn", BatchCallbackCallsBackIn),
                T("BatchTimeoutAndCancellationToken", BatchTimeoutAndCancellationToken),
                T("BatchRunReports", BatchRunReports),
                T("BatchRunReportsEndedEarly", BatchRunReportsEndedEarly),
                T("BatchOneThreadAtATime", BatchOneThreadAtATime),
                T("BatchOutlivesDisposedClient", BatchOutlivesDisposedClient),
                T("DisposeTwiceIsSafe", DisposeTwiceIsSafe),
                T("UseAfterDispose", UseAfterDispose),
                T("OperationOutlivesClient", OperationOutlivesClient),
                T("FinalizerFreesUndisposed", FinalizerFreesUndisposed),
                T("ThreadsShareOneClient", ThreadsShareOneClient),
                T("ThreadsGetTheirOwnErrors", ThreadsGetTheirOwnErrors),
                T("DisposeClientWhileThreadsUseIt", DisposeClientWhileThreadsUseIt),
                T("DisposeOperationWhileThreadsReadIt", DisposeOperationWhileThreadsReadIt),
            };

            string filter = args.Length > 0 ? args[0] : null;
            int passed = 0;
            var failed = new List<string>();
            foreach (var test in tests)
            {
                if (filter != null && test.Key.IndexOf(filter, StringComparison.OrdinalIgnoreCase) < 0)
                {
                    continue;
                }
                var watch = Stopwatch.StartNew();
                try
                {
                    test.Value();
                    passed++;
                    Console.WriteLine("ok   {0} ({1} ms)", test.Key, watch.ElapsedMilliseconds);
                }
                catch (Exception e)
                {
                    failed.Add(test.Key);
                    Console.WriteLine("FAIL {0} ({1} ms)", test.Key, watch.ElapsedMilliseconds);
                    Console.WriteLine("     " + (e is AssertionException ? e.Message + "\n" + e.StackTrace : e.ToString()).Replace("\n", "\n     "));
                }
            }
            Console.WriteLine();
            Console.WriteLine("TeamsOpTests: {0} test(s), {1} passed, {2} failed (libteamsop {3}, {4})",
                              passed + failed.Count, passed, failed.Count, TeamsOpClient.Version, RuntimeName());
            if (failed.Count > 0)
            {
                Console.WriteLine("FAILED: " + string.Join(", ", failed));
                return 1;
            }
            if (passed == 0)
            {
                Console.WriteLine("no test matched " + filter);
                return 1;
            }
            Console.WriteLine("ALL PASSED");
            return 0;
        }

        private static KeyValuePair<string, Action> T(string name, Action test)
        {
            return new KeyValuePair<string, Action>(name, test);
        }

        private static string RuntimeName()
        {
            Type mono = Type.GetType("Mono.Runtime");
            if (mono != null)
            {
                var display = mono.GetMethod("GetDisplayName", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static);
                return "Mono " + (display != null ? display.Invoke(null, null) : "?");
            }
            return ".NET " + Environment.Version;
        }

        private static string FindUp(string relative)
        {
            foreach (string start in new[] { Directory.GetCurrentDirectory(), AppDomain.CurrentDomain.BaseDirectory })
            {
                for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                {
                    string candidate = Path.Combine(dir.FullName, relative);
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                }
            }
            return null;
        }

        // ------------------------------------------------------------ helpers

        /// <summary>A client on the emulator, with a 50 ms first poll interval.</summary>
        private static TeamsOpClient NewClient()
        {
            var client = new TeamsOpClient(token);
            client.SetBaseUrl(baseUrl);
            client.SetPollInterval(TimeSpan.FromMilliseconds(50));
            return client;
        }

        /// <summary>
        /// A control request to the emulator (HTTP/1.1 over a socket, one connection per
        /// request: Mono's HttpWebRequest pool is not dependable across keep-alive
        /// connections). Returns the body of a 2xx answer.
        /// </summary>
        private static string Emulator(string method, string path)
        {
            var url = new Uri(emulatorUrl);
            using (var tcp = new System.Net.Sockets.TcpClient())
            {
                tcp.Connect(url.Host, url.Port);
                using (var stream = tcp.GetStream())
                {
                    string head = method + " " + path + " HTTP/1.1\r\nHost: " + url.Authority +
                                  "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    byte[] request = Encoding.ASCII.GetBytes(head);
                    stream.Write(request, 0, request.Length);
                    var received = new MemoryStream();
                    stream.CopyTo(received);
                    string answer = Encoding.UTF8.GetString(received.ToArray());
                    int split = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                    if (split < 0 || !answer.StartsWith("HTTP/1.1 2", StringComparison.Ordinal))
                    {
                        throw new AssertionException("emulator " + method + " " + path + ": " + answer);
                    }
                    string headers = answer.Substring(0, split);
                    string body = answer.Substring(split + 4);
                    if (headers.IndexOf("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase) >= 0)
                    {
                        var joined = new StringBuilder();
                        for (int at = 0; ;)
                        {
                            int eol = body.IndexOf("\r\n", at, StringComparison.Ordinal);
                            int size = Convert.ToInt32(body.Substring(at, eol - at).Split(';')[0].Trim(), 16);
                            if (size == 0)
                            {
                                break;
                            }
                            // The body is ASCII (JSON with escapes), so characters are bytes.
                            joined.Append(body, eol + 2, size);
                            at = eol + 2 + size + 2;
                        }
                        body = joined.ToString();
                    }
                    return body;
                }
            }
        }

        /// <summary>The raw paths of the requests the emulator received since the last clear, in order.</summary>
        private static List<string> RecordedPaths()
        {
            string log = Emulator("GET", "/_emulator/requests");
            var paths = new List<string>();
            const string key = "\"path\":\"";
            for (int at = log.IndexOf(key, StringComparison.Ordinal); at >= 0; at = log.IndexOf(key, at + 1, StringComparison.Ordinal))
            {
                int start = at + key.Length;
                paths.Add(log.Substring(start, log.IndexOf('"', start) - start));
            }
            return paths;
        }

        private static void ClearRecordedRequests()
        {
            Emulator("DELETE", "/_emulator/requests");
        }

        private static void AssertSeed(TeamsOperationBase op, string what)
        {
            Assert.Equal(SeedOp, op.Id, what + " Id");
            Assert.Equal(OperationStatus.Succeeded, op.Status, what + " Status");
            Assert.Equal("succeeded", op.StatusText, what + " StatusText");
            Assert.Equal(OperationType.CreateChat, op.Type, what + " Type");
            Assert.Equal("createChat", op.TypeText, what + " TypeText");
            Assert.Equal("2021-05-27T21:23:41.9085453Z", op.CreatedDateTimeText, what + " CreatedDateTimeText");
            Assert.Equal("2021-05-27T21:23:45.1899277Z", op.LastActionDateTimeText, what + " LastActionDateTimeText");
            Assert.Equal((DateTimeOffset?)new DateTimeOffset(2021, 5, 27, 21, 23, 41, 908, TimeSpan.Zero), op.CreatedDateTime, what + " CreatedDateTime");
            Assert.Equal((DateTimeOffset?)new DateTimeOffset(2021, 5, 27, 21, 23, 45, 189, TimeSpan.Zero), op.LastActionDateTime, what + " LastActionDateTime");
            Assert.Equal(1622150621908L, op.CreatedDateTime.Value.ToUnixTimeMilliseconds(), what + " CreatedDateTime unix ms");
            Assert.Equal(1622150625189L, op.LastActionDateTime.Value.ToUnixTimeMilliseconds(), what + " LastActionDateTime unix ms");
            Assert.Equal(TimeSpan.Zero, op.CreatedDateTime.Value.Offset, what + " CreatedDateTime offset");
            Assert.Equal((int?)1, op.AttemptsCount, what + " AttemptsCount");
            Assert.Equal(SeedChat, op.TargetResourceId, what + " TargetResourceId");
            Assert.Equal("/chats('" + SeedChat + "')", op.TargetResourceLocation, what + " TargetResourceLocation");
            Assert.Equal("{\"appIds\":[\"1542629c-01b3-4a6d-8f76-1938b779e48d\"]}", op.Values, what + " Values");
            Assert.Null(op.ErrorCode, what + " ErrorCode");
            Assert.Null(op.ErrorMessage, what + " ErrorMessage");
            Assert.Equal("https://graph.microsoft.com/beta/$metadata#chats('19%3Ac253a29b5f694b55a6baad8e83510af7%40thread.v2')/operations/$entity",
                         op.ODataContext, what + " ODataContext");
            Assert.Equal(seedFixture, op.Json, what + " Json (the fixture, byte for byte)");
            Assert.True(op.IsTerminal, what + " IsTerminal");
        }

        /// <summary>Polls <paramref name="condition"/> for up to 30 s (the machine may be busy).</summary>
        private static void WaitUntil(Func<bool> condition, string what)
        {
            var watch = Stopwatch.StartNew();
            while (!condition())
            {
                if (watch.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new AssertionException("timed out waiting for: " + what);
                }
                Thread.Sleep(5);
            }
        }

        private static void AssertGuid(string text, string what)
        {
            Guid ignored;
            Assert.NotNull(text, what);
            Assert.True(Guid.TryParse(text, out ignored), what + ": " + Assert.Show(text) + " is a GUID");
        }

        // ------------------------------------------------------------ library

        private static void Version()
        {
            string version = TeamsOpClient.Version;
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(version, @"^[0-9]+\.[0-9]+\.[0-9]+$"), "Version is MAJOR.MINOR.PATCH: " + version);
        }

        private static void ResultValuesAndNames()
        {
            var names = new[]
            {
                "TEAMSOP_OK", "TEAMSOP_ERR_INVALID_ARGUMENT", "TEAMSOP_ERR_TRANSPORT", "TEAMSOP_ERR_TIMEOUT",
                "TEAMSOP_ERR_UNAUTHORIZED", "TEAMSOP_ERR_FORBIDDEN", "TEAMSOP_ERR_NOT_FOUND", "TEAMSOP_ERR_THROTTLED",
                "TEAMSOP_ERR_HTTP", "TEAMSOP_ERR_PARSE", "TEAMSOP_ERR_TOO_LARGE", "TEAMSOP_ERR_CANCELLED",
                "TEAMSOP_ERR_INTERNAL",
            };
            var results = new[]
            {
                Result.Ok, Result.InvalidArgument, Result.Transport, Result.Timeout, Result.Unauthorized,
                Result.Forbidden, Result.NotFound, Result.Throttled, Result.Http, Result.Parse, Result.TooLarge,
                Result.Cancelled, Result.Internal,
            };
            Assert.Equal(names.Length, Enum.GetValues(typeof(Result)).Length, "number of Result members");
            for (int i = 0; i < results.Length; i++)
            {
                Assert.Equal(i, (int)results[i], "value of Result." + results[i]);
                Assert.Equal(names[i], TeamsOpClient.ResultName(results[i]), "ResultName(" + results[i] + ")");
            }
            Assert.Equal("TEAMSOP_ERR_UNKNOWN", TeamsOpClient.ResultName((Result)13), "ResultName(13)");
            Assert.Equal("TEAMSOP_ERR_UNKNOWN", TeamsOpClient.ResultName((Result)(-1)), "ResultName(-1)");
            Assert.Equal(0, (int)Cloud.Global, "Cloud.Global");
            Assert.Equal(1, (int)Cloud.UsGov, "Cloud.UsGov");
            Assert.Equal(2, (int)Cloud.UsGovDod, "Cloud.UsGovDod");
            Assert.Equal(3, (int)Cloud.China, "Cloud.China");
        }

        /// <summary>Every Graph string maps to the enum member of the same C value.</summary>
        private static void StatusAndTypeValues()
        {
            var statuses = new[] { "invalid", "notStarted", "inProgress", "succeeded", "failed", "unknownFutureValue" };
            for (int i = 0; i < statuses.Length; i++)
            {
                using (var op = TeamsOpClient.Parse("{\"status\":\"" + statuses[i] + "\"}"))
                {
                    Assert.Equal(i, (int)op.Status, "C value of status " + statuses[i]);
                    Assert.Equal(statuses[i], op.StatusText, "StatusText");
                    Assert.Equal(i == 0 || i == 3 || i == 4, op.IsTerminal, "IsTerminal of " + statuses[i]);
                }
            }
            Assert.Equal(OperationStatus.NotStarted, (OperationStatus)1, "NotStarted = 1");
            Assert.Equal(6, (int)OperationStatus.Unrecognized, "OperationStatus.Unrecognized");
            Assert.Equal(7, (int)OperationStatus.Absent, "OperationStatus.Absent");
            var types = new[]
            {
                "invalid", "cloneTeam", "archiveTeam", "unarchiveTeam", "createTeam", "unknownFutureValue",
                "teamifyGroup", "createChannel", "createChat", "archiveChannel", "unarchiveChannel",
            };
            for (int i = 0; i < types.Length; i++)
            {
                using (var op = TeamsOpClient.Parse("{\"operationType\":\"" + types[i] + "\"}"))
                {
                    Assert.Equal(i, (int)op.Type, "C value of type " + types[i]);
                    Assert.Equal(types[i], op.TypeText, "TypeText");
                    Assert.Equal(types[i], char.ToLowerInvariant(op.Type.ToString()[0]) + op.Type.ToString().Substring(1), "member name of " + types[i]);
                }
            }
            Assert.Equal(11, (int)OperationType.Unrecognized, "OperationType.Unrecognized");
            Assert.Equal(12, (int)OperationType.Absent, "OperationType.Absent");
        }

        // ------------------------------------------------------------ fetching

        private static void SeedChatOperationEveryField()
        {
            using (var client = NewClient())
            using (var op = client.Get(SeedChat, SeedOp))
            {
                AssertSeed(op, "seed");
            }
        }

        private static void SeedByLocationForms()
        {
            using (var client = NewClient())
            {
                foreach (string location in new[]
                {
                    "/chats('" + SeedChat + "')/operations('" + SeedOp + "')",
                    "/chats/" + SeedChat + "/operations/" + SeedOp,
                    "/beta/chats('" + SeedChat + "')/operations('" + SeedOp + "')",
                    baseUrl + "/chats('" + SeedChat + "')/operations('" + SeedOp + "')",
                })
                {
                    using (var op = client.GetLocation(location))
                    {
                        AssertSeed(op, location);
                    }
                }
                Assert.Fails(Result.InvalidArgument, () => client.GetLocation("/users/x/operations/y"), "a refused Location");
                Assert.Fails(Result.InvalidArgument, () => client.GetLocation("http://evil.example/beta/chats/a/operations/b"), "a Location on another host");
            }
        }

        private static void TeamOperations()
        {
            using (var client = NewClient())
            {
                using (var op = client.GetTeamOperation(Team, "clone-in-progress"))
                {
                    Assert.Equal("clone-in-progress", op.Id, "Id");
                    Assert.Equal(OperationStatus.InProgress, op.Status, "Status");
                    Assert.Equal("inProgress", op.StatusText, "StatusText");
                    Assert.Equal(OperationType.CloneTeam, op.Type, "Type");
                    Assert.Equal("cloneTeam", op.TypeText, "TypeText");
                    Assert.Equal((int?)1, op.AttemptsCount, "AttemptsCount");
                    Assert.Equal((DateTimeOffset?)new DateTimeOffset(2024, 1, 15, 10, 0, 0, TimeSpan.Zero), op.CreatedDateTime, "CreatedDateTime");
                    Assert.Equal((DateTimeOffset?)new DateTimeOffset(2024, 1, 15, 10, 0, 5, TimeSpan.Zero), op.LastActionDateTime, "LastActionDateTime");
                    Assert.Null(op.TargetResourceId, "TargetResourceId");
                    Assert.Null(op.TargetResourceLocation, "TargetResourceLocation");
                    Assert.Null(op.Values, "Values");
                    Assert.Null(op.ErrorCode, "ErrorCode");
                    Assert.Null(op.ErrorMessage, "ErrorMessage");
                    Assert.Equal("https://graph.microsoft.com/beta/$metadata#teams('" + Team + "')/operations/$entity", op.ODataContext, "ODataContext");
                    Assert.True(!op.IsTerminal, "IsTerminal is false");
                }
                using (var op = client.GetTeamOperation(Team, "archive-failed"))
                {
                    Assert.Equal("archive-failed", op.Id, "Id");
                    Assert.Equal(OperationStatus.Failed, op.Status, "Status");
                    Assert.Equal(OperationType.ArchiveTeam, op.Type, "Type");
                    Assert.Equal("Conflict", op.ErrorCode, "ErrorCode");
                    Assert.Equal("The team is already archived.", op.ErrorMessage, "ErrorMessage");
                    Assert.Null(op.TargetResourceId, "TargetResourceId");
                    Assert.True(op.IsTerminal, "IsTerminal");
                }
                using (var op = client.GetTeamOperation(Team, "create-succeeded"))
                {
                    Assert.Equal("create-succeeded", op.Id, "Id");
                    Assert.Equal(OperationStatus.Succeeded, op.Status, "Status");
                    Assert.Equal(OperationType.CreateTeam, op.Type, "Type");
                    Assert.Equal(Team, op.TargetResourceId, "TargetResourceId");
                    Assert.Equal("/teams('" + Team + "')", op.TargetResourceLocation, "TargetResourceLocation");
                    Assert.Null(op.ErrorCode, "ErrorCode");
                    Assert.True(op.IsTerminal, "IsTerminal");
                }
            }
        }

        private static void TeamOperationV1Location()
        {
            using (var client = NewClient())
            using (var op = client.GetLocation("/v1.0/teams('" + Team + "')/operations('create-succeeded')"))
            {
                Assert.Equal("create-succeeded", op.Id, "Id");
                Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#teams('" + Team + "')/operations/$entity", op.ODataContext, "ODataContext names v1.0");
            }
        }

        private static void Select()
        {
            using (var client = NewClient())
            {
                client.SetSelect("status,error");
                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Null(op.Id, "Id selected out");
                    Assert.Equal(OperationStatus.Succeeded, op.Status, "Status");
                    Assert.Equal(OperationType.Absent, op.Type, "Type selected out");
                    Assert.Null(op.TypeText, "TypeText selected out");
                    Assert.Null(op.AttemptsCount, "AttemptsCount selected out");
                    Assert.Null(op.CreatedDateTime, "CreatedDateTime selected out");
                    Assert.Null(op.CreatedDateTimeText, "CreatedDateTimeText selected out");
                    Assert.Null(op.ErrorCode, "ErrorCode");
                }
                Assert.Fails(Result.InvalidArgument, () => client.SetSelect("status error"), "a space in $select");
                client.SetSelect(null);
                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Equal(SeedOp, op.Id, "Id after SetSelect(null)");
                }
                client.SetSelect("id");
                client.SetSelect("");
                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Equal(OperationType.CreateChat, op.Type, "Type after SetSelect(\"\")");
                }
            }
        }

        private static void NonAsciiRoundTripOverHttp()
        {
            const string chat = "caf\u00e9-\U0001F600";
            const string opId = "op-\u00e9-\U0001F600";
            using (var client = NewClient())
            {
                ClearRecordedRequests();
                using (var op = client.Get(chat, opId))
                {
                    Assert.Equal(opId, op.Id, "Id");
                    Assert.Equal(chat, op.TargetResourceId, "TargetResourceId");
                    Assert.Equal(OperationStatus.Failed, op.Status, "Status");
                    Assert.Equal((int?)2, op.AttemptsCount, "AttemptsCount");
                    Assert.Equal("Conflict\u2713", op.ErrorCode, "ErrorCode");
                    Assert.Equal("\u00dcn\u00efc\u00f6d\u00e9 \u2713 \U0001F600 \u65e5\u672c\u8a9e", op.ErrorMessage, "ErrorMessage");
                    Assert.Equal("{\"name\":\"\u540d\u524d \u00fcber \U0001F680\"}", op.Values, "Values");
                    Assert.Contains("\"id\":\"" + opId + "\"", op.Json, "Json decoded from UTF-8");
                }
                List<string> paths = RecordedPaths();
                Assert.Equal(1, paths.Count, "requests received");
const string wanted = "/beta/chats/caf%C3%A9-%F0%9F%98%80/operations/op-%C3%A9-%F0%9F%98%80";
                Assert.True(string.Equals(wanted, paths[0], StringComparison.OrdinalIgnoreCase),
                            "the raw path is UTF-8, percent-encoded (hex digits in any case): sent " + paths[0] + ", expected " + wanted);
            }
        }

        private static void NonAsciiUnknownIdIsNotFound()
        {
            using (var client = NewClient())
            {
                TeamsOpException e = Assert.Fails(Result.NotFound, () => client.GetTeamOperation(Team, "\u00fcnbekannt-\U0001F47B"), "unknown non-ASCII id");
                Assert.Equal(404, e.HttpStatus, "HttpStatus");
                Assert.Equal("NotFound", e.GraphCode, "GraphCode");
            }
        }

        private static void IdsAreOnePathSegment()
        {
            using (var client = NewClient())
            {
                client.SetMaxRetries(0);
                var cases = new[]
                {
                    new[] { "a/b", "o", "/beta/chats/a%2Fb/operations/o" },
                    new[] { "c", "x?y#z", "/beta/chats/c/operations/x%3Fy%23z" },
                    new[] { "../teams/" + Team, "create-succeeded", "/beta/chats/..%2Fteams%2F" + Team + "/operations/create-succeeded" },
                    new[] { "a b", "%2e%2e", "/beta/chats/a%20b/operations/%252e%252e" },
                };
                foreach (var c in cases)
                {
                    ClearRecordedRequests();
                    Assert.Fails(Result.NotFound, () => client.Get(c[0], c[1]), "Get(" + c[0] + ", " + c[1] + ")");
                    List<string> paths = RecordedPaths();
                    Assert.Equal(1, paths.Count, "requests for " + c[0]);
                    Assert.True(string.Equals(c[2], paths[0], StringComparison.OrdinalIgnoreCase), "sent " + paths[0] + ", expected " + c[2]);
                }
            }
        }

        // ------------------------------------------------------------ errors

        private static void NotFoundException()
        {
            using (var client = NewClient())
            {
                TeamsOpException e = Assert.Fails(Result.NotFound, () => client.Get("dotnet-404", "o"), "scripted 404");
                Assert.Equal(404, e.HttpStatus, "HttpStatus");
                Assert.Equal("NotFound", e.GraphCode, "GraphCode");
                Assert.Equal("11111111-2222-3333-4444-555555555555", e.RequestId, "RequestId");
                AssertGuid(e.ClientRequestId, "ClientRequestId");
                Assert.DoesNotContain(token, e.Message, "Message");
                Assert.DoesNotContain(token, e.ToString(), "ToString()");
            }
        }

        private static void NotFoundUnscriptedHasRequestId()
        {
            using (var client = NewClient())
            {
                TeamsOpException e = Assert.Fails(Result.NotFound, () => client.Get(SeedChat, "no-such-operation"), "unknown operation");
                Assert.Equal(404, e.HttpStatus, "HttpStatus");
                Assert.Equal("NotFound", e.GraphCode, "GraphCode");
                AssertGuid(e.RequestId, "RequestId");
                AssertGuid(e.ClientRequestId, "ClientRequestId");
            }
        }

        private static void UnauthorizedWrongToken()
        {
            using (var client = new TeamsOpClient(WrongToken))
            {
                client.SetBaseUrl(baseUrl);
                TeamsOpException e = Assert.Fails(Result.Unauthorized, () => client.Get(SeedChat, SeedOp), "wrong token");
                Assert.Equal(401, e.HttpStatus, "HttpStatus");
                Assert.Equal("InvalidAuthenticationToken", e.GraphCode, "GraphCode");
                AssertGuid(e.RequestId, "RequestId");
                Assert.DoesNotContain(WrongToken, e.Message, "Message");
                client.SetToken(token);
                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Equal(SeedOp, op.Id, "Id after SetToken");
                }
            }
        }

        private static void UnauthorizedScripted()
        {
            using (var client = NewClient())
            {
                TeamsOpException e = Assert.Fails(Result.Unauthorized, () => client.Get("dotnet-401", "o"), "scripted 401");
                Assert.Equal(401, e.HttpStatus, "HttpStatus");
                Assert.Equal("InvalidAuthenticationToken", e.GraphCode, "GraphCode");
                Assert.Equal("22222222-2222-3333-4444-555555555555", e.RequestId, "RequestId");
            }
        }

        private static void Forbidden()
        {
            using (var client = NewClient())
            {
                TeamsOpException e = Assert.Fails(Result.Forbidden, () => client.GetTeamOperation("forbidden", "x"), "team forbidden");
                Assert.Equal(403, e.HttpStatus, "HttpStatus");
                Assert.Equal("Forbidden", e.GraphCode, "GraphCode");
            }
        }

        private static void Throttled()
        {
            using (var client = NewClient())
            {
                client.SetMaxRetries(0);
                TeamsOpException e = Assert.Fails(Result.Throttled, () => client.Get("dotnet-429", "o"), "429");
                Assert.Equal(429, e.HttpStatus, "HttpStatus");
                Assert.Equal("TooManyRequests", e.GraphCode, "GraphCode");
            }
        }

        private static void HttpError()
        {
            using (var client = NewClient())
            {
                TeamsOpException e = Assert.Fails(Result.Http, () => client.Get("dotnet-500", "o"), "500");
                Assert.Equal(500, e.HttpStatus, "HttpStatus");
                Assert.Equal("InternalServerError", e.GraphCode, "GraphCode");
            }
        }

        private static void ParseErrorOverHttp()
        {
            using (var client = NewClient())
            {
                TeamsOpException e = Assert.Fails(Result.Parse, () => client.Get("dotnet-bad-json", "o"), "a 200 that is not JSON");
                Assert.Equal(200, e.HttpStatus, "HttpStatus (the 200 whose body failed)");
                Assert.Null(e.GraphCode, "GraphCode");
            }
        }

        private static void TooLarge()
        {
            using (var client = NewClient())
            {
                client.SetMaxBodyBytes(16);
                TeamsOpException e = Assert.Fails(Result.TooLarge, () => client.Get(SeedChat, SeedOp), "a 16-byte cap");
                Assert.Equal(200, e.HttpStatus, "HttpStatus");
                client.SetMaxBodyBytes(1 << 20);
                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Equal(SeedOp, op.Id, "Id with a 1 MiB cap");
                }
            }
        }

        private static void RequestTimeout()
        {
            using (var client = NewClient())
            {
                client.SetTimeout(TimeSpan.FromMilliseconds(300));
                var watch = Stopwatch.StartNew();
                TeamsOpException e = Assert.Fails(Result.Timeout, () => client.Get("dotnet-slow", "o"), "5 s answer, 300 ms timeout");
                Assert.Between(0.25, 4.0, watch.Elapsed.TotalSeconds, "seconds until the timeout (the answer would take 5 s)");
                Assert.Equal(0, e.HttpStatus, "HttpStatus (no response)");
            }
        }

        private static void Transport()
        {
            using (var client = new TeamsOpClient(token))
            {
                client.SetBaseUrl("http://127.0.0.1:1/beta");
                client.SetMaxRetries(0);
                client.SetTimeout(TimeSpan.FromSeconds(5));
                TeamsOpException e = Assert.Fails(Result.Transport, () => client.Get(SeedChat, SeedOp), "nothing listens on port 1");
                Assert.Equal(0, e.HttpStatus, "HttpStatus");
                Assert.Null(e.GraphCode, "GraphCode");
                Assert.Null(e.RequestId, "RequestId");
            }
        }

        private static void NoTokenSendsNothing()
        {
            using (var client = new TeamsOpClient())
            {
                client.SetBaseUrl(baseUrl);
                ClearRecordedRequests();
                TeamsOpException e = Assert.Fails(Result.InvalidArgument, () => client.Get(SeedChat, SeedOp), "no token");
                Assert.Equal(0, e.HttpStatus, "HttpStatus");
                client.SetToken(token);
                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Equal(SeedOp, op.Id, "Id after SetToken");
                }
                client.SetToken(null);
                Assert.Fails(Result.InvalidArgument, () => client.Get(SeedChat, SeedOp), "token cleared");
                Assert.Equal(1, RecordedPaths().Count, "requests sent (only the one with a token)");
            }
        }

        private static void InvalidIds()
        {
            using (var client = NewClient())
            {
                ClearRecordedRequests();
                foreach (string bad in new[] { "", ".", ".." })
                {
                    TeamsOpException e = Assert.Fails(Result.InvalidArgument, () => client.Get(bad, "o"), "chat id \"" + bad + "\"");
                    Assert.Equal(0, e.HttpStatus, "HttpStatus");
                    Assert.Fails(Result.InvalidArgument, () => client.Get("c", bad), "operation id \"" + bad + "\"");
                    Assert.Fails(Result.InvalidArgument, () => client.GetTeamOperation(bad, "o"), "team id \"" + bad + "\"");
                }
                Assert.Fails(Result.InvalidArgument, () => client.GetLocation(""), "empty Location");
                Assert.Equal(0, RecordedPaths().Count, "requests sent");
            }
        }

        /// <summary>The documented choice: null where a string is required is ArgumentNullException, before any native call.</summary>
        private static void NullArguments()
        {
            using (var client = NewClient())
            {
                Assert.Equal("chatId", Assert.Throws<ArgumentNullException>(() => client.Get(null, "o"), "Get(null, o)").ParamName, "ParamName");
                Assert.Equal("operationId", Assert.Throws<ArgumentNullException>(() => client.Get("c", null), "Get(c, null)").ParamName, "ParamName");
                Assert.Equal("teamId", Assert.Throws<ArgumentNullException>(() => client.GetTeamOperation(null, "o"), "GetTeamOperation(null, o)").ParamName, "ParamName");
                Assert.Equal("operationId", Assert.Throws<ArgumentNullException>(() => client.GetTeamOperation("t", null), "GetTeamOperation(t, null)").ParamName, "ParamName");
                Assert.Equal("location", Assert.Throws<ArgumentNullException>(() => client.GetLocation(null), "GetLocation(null)").ParamName, "ParamName");
                Assert.Equal("location", Assert.Throws<ArgumentNullException>(() => client.Wait(null, TimeSpan.FromSeconds(1)), "Wait(null)").ParamName, "ParamName");
                Assert.Equal("baseUrl", Assert.Throws<ArgumentNullException>(() => client.SetBaseUrl(null), "SetBaseUrl(null)").ParamName, "ParamName");
                Assert.Equal("pemPath", Assert.Throws<ArgumentNullException>(() => client.SetCaFile(null), "SetCaFile(null)").ParamName, "ParamName");
                Assert.Equal("json", Assert.Throws<ArgumentNullException>(() => TeamsOpClient.Parse((string)null), "Parse((string)null)").ParamName, "ParamName");
                Assert.Equal("json", Assert.Throws<ArgumentNullException>(() => TeamsOpClient.Parse((byte[])null), "Parse((byte[])null)").ParamName, "ParamName");
                // null clears these two, as in C.
                client.SetSelect(null);
                client.SetToken(null);
            }
        }

        private static void StringsCCannotCarry()
        {
            using (var client = NewClient())
            {
                ClearRecordedRequests();
                Assert.Equal("chatId", Assert.Throws<ArgumentException>(() => client.Get(SeedChat + "\0x", SeedOp), "U+0000 in an id").ParamName, "ParamName");
                Assert.Equal("operationId", Assert.Throws<ArgumentException>(() => client.Get(SeedChat, "a\ud800b"), "a lone surrogate in an id").ParamName, "ParamName");
                Assert.Throws<ArgumentException>(() => client.SetToken("abc\0def"), "U+0000 in a token");
                Assert.Throws<ArgumentException>(() => TeamsOpClient.Parse("{\"id\":\"\udc00\"}"), "a lone surrogate in JSON text");
                Assert.Equal(0, RecordedPaths().Count, "requests sent");
            }
        }

        private static void ConstructorErrors()
        {
            Assert.Fails(Result.InvalidArgument, () => new TeamsOpClient(""), "an empty token");
            TeamsOpException e = Assert.Fails(Result.InvalidArgument, () => new TeamsOpClient(WrongToken + "\nX-Evil: 1"), "a token with a newline");
            Assert.DoesNotContain(WrongToken, e.Message, "Message");
            Assert.Throws<ArgumentException>(() => new TeamsOpClient("a\0b"), "U+0000 in a token");
        }

        private static void Setters()
        {
            using (var client = NewClient())
            {
                foreach (Cloud cloud in new[] { Cloud.Global, Cloud.UsGov, Cloud.UsGovDod, Cloud.China })
                {
                    client.SetCloud(cloud);
                }
                Assert.Fails(Result.InvalidArgument, () => client.SetCloud((Cloud)4), "SetCloud(4)");
                Assert.Fails(Result.InvalidArgument, () => client.SetCloud((Cloud)(-1)), "SetCloud(-1)");
                client.SetBaseUrl(baseUrl); // SetCloud changed it

                client.SetMaxRetries(0);
                client.SetMaxRetries(10);
                Assert.Fails(Result.InvalidArgument, () => client.SetMaxRetries(11), "SetMaxRetries(11)");
                Assert.Throws<ArgumentOutOfRangeException>(() => client.SetMaxRetries(-1), "SetMaxRetries(-1)");

                client.SetTimeout(TimeSpan.FromSeconds(30));
                client.SetTimeout(TimeSpan.FromTicks(1)); // rounds up to 1 ms
                client.SetTimeout(Timeout.InfiniteTimeSpan);
                client.SetTimeout(TimeSpan.FromMilliseconds(uint.MaxValue));
                Assert.Fails(Result.InvalidArgument, () => client.SetTimeout(TimeSpan.Zero), "SetTimeout(0)");
                Assert.Throws<ArgumentOutOfRangeException>(() => client.SetTimeout(TimeSpan.FromSeconds(-1)), "SetTimeout(-1 s)");
                Assert.Throws<ArgumentOutOfRangeException>(() => client.SetTimeout(TimeSpan.FromMilliseconds(uint.MaxValue + 1.0)), "SetTimeout(2^32 ms)");
                client.SetTimeout(TimeSpan.FromSeconds(30));

                client.SetPollInterval(TimeSpan.FromMilliseconds(1));
                Assert.Fails(Result.InvalidArgument, () => client.SetPollInterval(TimeSpan.Zero), "SetPollInterval(0)");
                Assert.Throws<ArgumentOutOfRangeException>(() => client.SetPollInterval(TimeSpan.FromMilliseconds(-5)), "SetPollInterval(-5 ms)");

                client.SetMaxBodyBytes(1);
                client.SetMaxBodyBytes(1 << 20);
                Assert.Fails(Result.InvalidArgument, () => client.SetMaxBodyBytes(0), "SetMaxBodyBytes(0)");
                Assert.Throws<ArgumentOutOfRangeException>(() => client.SetMaxBodyBytes(-1), "SetMaxBodyBytes(-1)");

                Assert.Fails(Result.InvalidArgument, () => client.SetCaFile("/nonexistent/ca.pem"), "SetCaFile(missing)");
                Assert.Fails(Result.InvalidArgument, () => client.SetCaFile(FindUp(Path.Combine("tests", Path.Combine("fixtures", "seed-operation.json")))), "SetCaFile(no certificate)");

                Assert.Fails(Result.InvalidArgument, () => client.SetToken(""), "SetToken(\"\")");
                client.SetToken(token);

                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Equal(SeedOp, op.Id, "Id after the setters");
                }
            }
        }

        private static void RefusedBaseUrlLeavesSettingUnchanged()
        {
            using (var client = NewClient())
            {
                foreach (string url in new[] { "http://example.com/beta", "http://127.0.0.1.evil.example/beta", "ftp://127.0.0.1/beta", "not a url", "", "https://user@graph.microsoft.com/beta" })
                {
                    Assert.Fails(Result.InvalidArgument, () => client.SetBaseUrl(url), "SetBaseUrl(" + url + ")");
                }
                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Equal(SeedOp, op.Id, "Id from the base URL set before");
                }
            }
        }

        // ------------------------------------------------------------ parsing

        private static void ParseSeedStringAndBytes()
        {
            using (var op = TeamsOpClient.Parse(seedFixture))
            {
                AssertSeed(op, "Parse(string)");
            }
            using (var op = TeamsOpClient.Parse(Encoding.UTF8.GetBytes(seedFixture)))
            {
                AssertSeed(op, "Parse(byte[])");
            }
        }

        private static void ParseEmptyObject()
        {
            using (var op = TeamsOpClient.Parse("{}"))
            {
                Assert.Null(op.Id, "Id");
                Assert.Equal(OperationStatus.Absent, op.Status, "Status");
                Assert.Null(op.StatusText, "StatusText");
                Assert.Equal(OperationType.Absent, op.Type, "Type");
                Assert.Null(op.TypeText, "TypeText");
                Assert.Null(op.CreatedDateTime, "CreatedDateTime");
                Assert.Null(op.LastActionDateTime, "LastActionDateTime");
                Assert.Null(op.CreatedDateTimeText, "CreatedDateTimeText");
                Assert.Null(op.AttemptsCount, "AttemptsCount");
                Assert.Null(op.TargetResourceId, "TargetResourceId");
                Assert.Null(op.TargetResourceLocation, "TargetResourceLocation");
                Assert.Null(op.Values, "Values");
                Assert.Null(op.ErrorCode, "ErrorCode");
                Assert.Null(op.ErrorMessage, "ErrorMessage");
                Assert.Null(op.ODataContext, "ODataContext");
                Assert.Equal("{}", op.Json, "Json");
                Assert.True(!op.IsTerminal, "IsTerminal is false");
            }
            using (var op = TeamsOpClient.Parse("{\"status\":null,\"attemptsCount\":null,\"error\":{\"code\":null,\"message\":\"m\"}}"))
            {
                Assert.Equal(OperationStatus.Absent, op.Status, "null status");
                Assert.Null(op.AttemptsCount, "null attemptsCount");
                Assert.Null(op.ErrorCode, "null error.code");
                Assert.Equal("m", op.ErrorMessage, "error.message");
            }
        }

        private static void ParseErrors()
        {
            var bad = new[]
            {
                "this is not JSON", "", "[]", "\"a string\"", "42", "{\"status\":5}", "{\"attemptsCount\":\"one\"}",
                "{\"id\":\"a\\u0000b\"}", "{\"id\":\"x\"", "{\"error\":\"Conflict\"}",
            };
            foreach (string json in bad)
            {
                TeamsOpException e = Assert.Fails(Result.Parse, () => TeamsOpClient.Parse(json), "Parse(" + json + ")");
                Assert.Equal(0, e.HttpStatus, "HttpStatus (no network)");
                Assert.Null(e.GraphCode, "GraphCode");
                Assert.Null(e.RequestId, "RequestId");
            }
            Assert.Fails(Result.Parse, () => TeamsOpClient.Parse(new byte[0]), "Parse(empty byte[])");
            Assert.Fails(Result.Parse, () => TeamsOpClient.Parse(new byte[] { (byte)'{', (byte)'"', 0xff, (byte)'"', (byte)':', (byte)'1', (byte)'}' }), "Parse(not UTF-8)");
            Assert.Fails(Result.Parse, () => TeamsOpClient.Parse(new byte[] { (byte)'{', 0, (byte)'}' }), "Parse(a raw NUL byte)");
            using (var op = TeamsOpClient.Parse("{\"id\":\"x\"}"))
            {
                Assert.Equal("x", op.Id, "Id after failures");
            }
        }

        private static void ParseUnrecognizedAndTimes()
        {
            const string json = "{\"status\":\"paused\",\"operationType\":\"teleportTeam\"," +
                                "\"createdDateTime\":\"2021-05-27T23:23:41.9085453+02:00\"," +
                                "\"lastActionDateTime\":\"yesterday\",\"attemptsCount\":7,\"futureField\":{\"a\":[1,2]}}";
            using (var op = TeamsOpClient.Parse(json))
            {
                Assert.Equal(OperationStatus.Unrecognized, op.Status, "Status");
                Assert.Equal("paused", op.StatusText, "StatusText");
                Assert.Equal(OperationType.Unrecognized, op.Type, "Type");
                Assert.Equal("teleportTeam", op.TypeText, "TypeText");
                Assert.Equal((DateTimeOffset?)new DateTimeOffset(2021, 5, 27, 21, 23, 41, 908, TimeSpan.Zero), op.CreatedDateTime, "CreatedDateTime with +02:00 applied");
                Assert.Equal("2021-05-27T23:23:41.9085453+02:00", op.CreatedDateTimeText, "CreatedDateTimeText as sent");
                Assert.Null(op.LastActionDateTime, "an unparseable LastActionDateTime");
                Assert.Equal("yesterday", op.LastActionDateTimeText, "LastActionDateTimeText as sent");
                Assert.Equal((int?)7, op.AttemptsCount, "AttemptsCount");
                Assert.True(!op.IsTerminal, "IsTerminal is false");
                Assert.Equal(json, op.Json, "Json keeps unknown fields");
            }
        }

        private static void ParseNonAscii()
        {
            const string text = "\u00e9\u00e8 \u65e5\u672c\u8a9e \U0001F600\U0001F680 \u0001 \"q\" \\";
            string escaped = text.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\u0001", "\\u0001");
            string json = "{\"id\":\"" + escaped + "\",\"error\":{\"code\":\"\u00c9\",\"message\":\"" + escaped + "\"}}";
            using (var op = TeamsOpClient.Parse(json))
            {
                Assert.Equal(text, op.Id, "Id");
                Assert.Equal("\u00c9", op.ErrorCode, "ErrorCode");
                Assert.Equal(text, op.ErrorMessage, "ErrorMessage");
                Assert.Equal(json, op.Json, "Json");
            }
            using (var op = TeamsOpClient.Parse("{\"id\":\"\\u00e9\\ud83d\\ude00\"}"))
            {
                Assert.Equal("\u00e9\U0001F600", op.Id, "Id from JSON escapes (a surrogate pair)");
            }
        }

        // ------------------------------------------------------------ wait

        private static string Location(string op)
        {
            return "/chats('dotnet-wait')/operations('" + op + "')";
        }

        private static void WaitSeesEachStatusInOrder()
        {
            using (var client = NewClient())
            {
                var statuses = new List<OperationStatus>();
                var texts = new List<string>();
                var attempts = new List<int?>();
                var terminal = new List<bool>();
                var threads = new List<int>();
                var watch = Stopwatch.StartNew();
                using (var op = client.Wait(Location("progress"), TimeSpan.FromSeconds(10), view =>
                {
                    statuses.Add(view.Status);
                    texts.Add(view.StatusText);
                    attempts.Add(view.AttemptsCount);
                    terminal.Add(view.IsTerminal);
                    threads.Add(Thread.CurrentThread.ManagedThreadId);
                    Assert.Equal("progress", view.Id, "view Id");
                    return true;
                }))
                {
                    Assert.Equal("NotStarted,InProgress,Succeeded", string.Join(",", statuses), "statuses seen, in order");
                    Assert.Equal("notStarted,inProgress,succeeded", string.Join(",", texts), "StatusText seen");
                    Assert.Equal("0,1,1", string.Join(",", attempts), "AttemptsCount seen");
                    Assert.Equal("False,False,True", string.Join(",", terminal), "IsTerminal seen");
                    Assert.True(threads.All(id => id == Thread.CurrentThread.ManagedThreadId), "the callback ran on the waiting thread");
                    Assert.Equal(OperationStatus.Succeeded, op.Status, "final Status");
                    Assert.Equal("dotnet-wait", op.TargetResourceId, "final TargetResourceId");
                    Assert.True(op.IsTerminal, "final IsTerminal");
                }
                // Two pauses of 50 and 100 ms.
                Assert.Between(0.1, 8.0, watch.Elapsed.TotalSeconds, "seconds waited");
            }
        }

        private static void WaitWithoutCallback()
        {
            using (var client = NewClient())
            using (var op = client.Wait("/teams('" + Team + "')/operations('archive-failed')", TimeSpan.FromSeconds(10)))
            {
                Assert.Equal(OperationStatus.Failed, op.Status, "Status (a failed operation is a successful wait)");
                Assert.Equal("Conflict", op.ErrorCode, "ErrorCode");
                Assert.Equal("The team is already archived.", op.ErrorMessage, "ErrorMessage");
            }
        }

        private static void WaitCallbackFalseIsCancelled()
        {
            using (var client = NewClient())
            {
                int calls = 0;
                TeamsOpException e = Assert.Fails(Result.Cancelled, () => client.Wait(Location("cancel"), TimeSpan.FromSeconds(10), view =>
                {
                    calls++;
                    Assert.Equal(OperationStatus.NotStarted, view.Status, "view Status");
                    return false;
                }), "callback returned false");
                Assert.Equal(1, calls, "callback calls");
                Assert.Equal(200, e.HttpStatus, "HttpStatus (of the last response received)");
                Assert.Null(e.GraphCode, "GraphCode");
                AssertGuid(e.RequestId, "RequestId");
            }
        }

        private static void WaitCallbackFalseOnTerminalPollIsCancelled()
        {
            using (var client = NewClient())
            {
                int calls = 0;
                Assert.Fails(Result.Cancelled, () => client.Wait("/teams('" + Team + "')/operations('create-succeeded')", TimeSpan.FromSeconds(10), view =>
                {
                    calls++;
                    Assert.True(view.IsTerminal, "view IsTerminal");
                    return false;
                }), "callback returned false on the terminal poll");
                Assert.Equal(1, calls, "callback calls");
            }
        }

        private sealed class CallbackFailure : Exception
        {
            internal CallbackFailure(string message) : base(message) { }
        }

        private static int throwingCalls;

        private static bool ThrowingCallbackOnSecondPoll(TeamsOperationView view)
        {
            throwingCalls++;
            if (throwingCalls == 2)
            {
                throw new CallbackFailure("thrown by the callback at " + view.StatusText);
            }
            return true;
        }

        private static void WaitCallbackThrowsSameException()
        {
            using (var client = NewClient())
            {
                throwingCalls = 0;
                CallbackFailure thrown = null;
                CallbackFailure e = Assert.Throws<CallbackFailure>(() =>
                {
                    try
                    {
                        client.Wait(Location("throw"), TimeSpan.FromSeconds(10), ThrowingCallbackOnSecondPoll);
                    }
                    catch (CallbackFailure caught)
                    {
                        thrown = caught;
                        throw;
                    }
                }, "Wait with a throwing callback");
                Assert.Same(thrown, e, "the exception object");
                Assert.Equal("thrown by the callback at inProgress", e.Message, "Message");
                Assert.Equal(2, throwingCalls, "callback calls (none after the throw)");
                Assert.Contains("ThrowingCallbackOnSecondPoll", e.StackTrace, "StackTrace keeps the callback's frame");
                // The client is still usable.
                using (var op = client.Get(SeedChat, SeedOp))
                {
                    Assert.Equal(SeedOp, op.Id, "Id after the throw");
                }
            }
        }

        private static void WaitCallbackThrowsOnTerminalPoll()
        {
            using (var client = NewClient())
            {
                var boom = new InvalidOperationException("terminal boom");
                int calls = 0;
                InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => client.Wait(Location("throw-terminal"), TimeSpan.FromSeconds(10), view =>
                {
                    calls++;
                    Assert.Equal(OperationStatus.Succeeded, view.Status, "view Status");
                    throw boom;
                }), "Wait whose callback throws on the terminal poll");
                Assert.Same(boom, e, "the exception object");
                Assert.Equal(1, calls, "callback calls");
            }
        }

        /// <summary>A failing call inside the callback must not leak into the wait's own error.</summary>
        private static void WaitCallbackFailingCallInside()
        {
            using (var client = NewClient())
            {
                int calls = 0;
                using (var op = client.Wait(Location("nested"), TimeSpan.FromSeconds(10), view =>
                {
                    calls++;
                    TeamsOpException inner = Assert.Fails(Result.NotFound, () => client.Get("dotnet-404", "o"), "Get inside the callback");
                    Assert.Equal("NotFound", inner.GraphCode, "inner GraphCode");
                    return true;
                }))
                {
                    Assert.Equal(OperationStatus.Succeeded, op.Status, "Status");
                    Assert.Equal(2, calls, "callback calls");
                }
                TeamsOpException e = Assert.Fails(Result.Cancelled, () => client.Wait(Location("cancel"), TimeSpan.FromSeconds(10), view =>
                {
                    Assert.Fails(Result.Forbidden, () => client.GetTeamOperation("forbidden", "x"), "Get inside the callback");
                    return false;
                }), "cancelled after a failing call inside");
                Assert.Null(e.GraphCode, "GraphCode of the Cancelled (not the inner Forbidden)");
                Assert.Equal(200, e.HttpStatus, "HttpStatus of the Cancelled (not the inner 403)");
            }
        }

        private static void WaitViewIsBorrowed()
        {
            using (var client = NewClient())
            {
                var views = new List<TeamsOperationView>();
                var copies = new List<TeamsOperation>();
                using (var op = client.Wait(Location("view"), TimeSpan.FromSeconds(10), view =>
                {
                    views.Add(view);
                    copies.Add(view.ToOperation());
                    return true;
                }))
                {
                    Assert.Equal(2, views.Count, "callback calls");
                    foreach (var view in views)
                    {
                        Assert.Throws<ObjectDisposedException>(() => { var unused = view.Status; }, "view.Status after the callback");
                        Assert.Throws<ObjectDisposedException>(() => { var unused = view.Json; }, "view.Json after the callback");
                        Assert.Throws<ObjectDisposedException>(() => view.ToOperation(), "view.ToOperation() after the callback");
                    }
                    Assert.Equal(OperationStatus.InProgress, copies[0].Status, "copy 1 Status");
                    Assert.Equal(OperationStatus.Succeeded, copies[1].Status, "copy 2 Status");
                    Assert.Equal("view", copies[1].Id, "copy 2 Id");
                    Assert.Equal(op.Json, copies[1].Json, "copy 2 Json");
                }
                foreach (var copy in copies)
                {
                    copy.Dispose();
                }
            }
        }

        private static void WaitTimeout()
        {
            using (var client = NewClient())
            {
                int calls = 0;
                var watch = Stopwatch.StartNew();
                TeamsOpException e = Assert.Fails(Result.Timeout, () => client.Wait(Location("forever"), TimeSpan.FromMilliseconds(400), view =>
                {
                    calls++;
                    return true;
                }), "Wait on an operation that never ends");
                Assert.Between(0.35, 4.0, watch.Elapsed.TotalSeconds, "seconds until the deadline");
                Assert.True(calls >= 2, "the callback saw several polls: " + calls);
                Assert.Contains("(last status: inProgress)", e.Message, "Message");
                Assert.Null(e.GraphCode, "GraphCode");
            }
        }

        /// <summary>
        /// The deadline cuts the second GET (its answer is delayed 5 s): the wait ends with
        /// Timeout, and the record still describes the last response received during the
        /// call, the first poll's 200 (teamsop_last_http_status, teamsop_last_request_id).
        /// </summary>
        private static void WaitTimeoutKeepsLastResponse()
        {
            using (var client = NewClient())
            {
                var watch = Stopwatch.StartNew();
                TeamsOpException e = Assert.Fails(Result.Timeout, () => client.Wait(Location("slow-second"), TimeSpan.FromMilliseconds(500)), "Wait whose second poll outlasts the deadline");
                Assert.Between(0.45, 4.0, watch.Elapsed.TotalSeconds, "seconds until the deadline (the answer would take 5 s)");
                Assert.Contains("(last status: inProgress)", e.Message, "Message");
                Assert.Equal(200, e.HttpStatus, "HttpStatus: the last response received during the call was a 200");
                AssertGuid(e.RequestId, "RequestId of that last response");
            }
        }

        private static void WaitNotFound()
        {
            using (var client = NewClient())
            {
                var watch = Stopwatch.StartNew();
                TeamsOpException e = Assert.Fails(Result.NotFound, () => client.Wait("/teams('" + Team + "')/operations('nope')", TimeSpan.FromSeconds(1)), "Wait on an unknown operation");
                Assert.Equal(404, e.HttpStatus, "HttpStatus");
                Assert.Between(0.5, 4.0, watch.Elapsed.TotalSeconds, "seconds (404s are polled until the deadline)");
            }
        }

        /// <summary>
        /// The first poll is a 404, the second GET is cut by the deadline (its 404 is delayed 5 s):
        /// the deadline passed while still 404, which the contract says is NotFound.
        /// </summary>
        private static void WaitNotFoundWhenDeadlineCutsAPoll()
        {
            using (var client = NewClient())
            {
                TeamsOpException e = Assert.Fails(Result.NotFound, () => client.Wait(Location("not-found-slow-second"), TimeSpan.FromSeconds(1)), "404, then a GET cut by the deadline");
                Assert.Equal(404, e.HttpStatus, "HttpStatus");
                Assert.Equal("NotFound", e.GraphCode, "GraphCode");
                Assert.Equal("33333333-2222-3333-4444-555555555555", e.RequestId, "RequestId");
            }
        }

        private static void WaitArguments()
        {
            using (var client = NewClient())
            {
                Assert.Fails(Result.InvalidArgument, () => client.Wait(Location("progress"), TimeSpan.Zero), "timeout 0");
                Assert.Fails(Result.InvalidArgument, () => client.Wait("/users/x/operations/y", TimeSpan.FromSeconds(1)), "a refused Location");
                Assert.Throws<ArgumentOutOfRangeException>(() => client.Wait(Location("progress"), TimeSpan.FromSeconds(-2)), "a negative timeout");
                Assert.Throws<ArgumentException>(() => client.Wait("/chats('a\0')/operations('b')", TimeSpan.FromSeconds(1)), "U+0000 in a Location");
            }
        }

        private static void WaitCancellationToken()
        {
            using (var client = NewClient())
            using (var source = new CancellationTokenSource())
            {
                int calls = 0;
                OperationCanceledException e = Assert.Throws<OperationCanceledException>(() => client.Wait(Location("token"), TimeSpan.FromSeconds(10), view =>
                {
                    calls++;
                    if (calls == 2)
                    {
                        source.Cancel();
                    }
                    return true;
                }, source.Token), "a token cancelled during the wait");
                Assert.Equal(source.Token, e.CancellationToken, "CancellationToken");
                Assert.Equal(2, calls, "callback calls");

                ClearRecordedRequests();
                Assert.Throws<OperationCanceledException>(() => client.Wait(Location("token"), TimeSpan.FromSeconds(10), null, source.Token), "an already cancelled token");
                Assert.Equal(0, RecordedPaths().Count, "requests sent with an already cancelled token");

                using (var live = new CancellationTokenSource())
                using (var op = client.Wait("/teams('" + Team + "')/operations('create-succeeded')", TimeSpan.FromSeconds(10), null, live.Token))
                {
                    Assert.Equal(OperationStatus.Succeeded, op.Status, "Status with a token never cancelled");
                }
            }
        }

        // ------------------------------------------------------------ long runs

        private const string CaeClaims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1604106651\"}}}";

        private static string LongLocation(string op)
        {
            return "/chats('dotnet-long')/operations('" + op + "')";
        }

        /// <summary>
        /// A wait on <paramref name="op"/> cancelled by a token from another thread 300 ms in:
        /// OperationCanceledException within 100 ms of Cancel, and the client still works.
        /// </summary>
        private static void CancelledWait(string op, TeamsOpClient client)
        {
            using (var source = new CancellationTokenSource())
            {
                long cancelledAt = 0;
                var canceller = new Thread(() =>
                {
                    Thread.Sleep(300);
                    cancelledAt = Stopwatch.GetTimestamp();
                    source.Cancel();
                });
                canceller.Start();
                OperationCanceledException e = Assert.Throws<OperationCanceledException>(
                    () => client.Wait(LongLocation(op), TimeSpan.FromSeconds(120), source.Token), op);
                long returnedAt = Stopwatch.GetTimestamp();
                canceller.Join();
                Assert.Equal(source.Token, e.CancellationToken, op + ": CancellationToken");
                double ms = (returnedAt - Interlocked.Read(ref cancelledAt)) * 1000.0 / Stopwatch.Frequency;
                Console.WriteLine("     cancelled {0}: {1:F1} ms after Cancel()", op, ms);
                Assert.Between(0, 100, ms, op + ": ms from Cancel() to the return");
            }
            using (TeamsOperation again = client.Get(SeedChat, SeedOp))
            {
                AssertSeed(again, op + ": the next call");
            }
        }

        private static void CancelInAGet()
        {
            using (var client = NewClient())
            {
                CancelledWait("slow", client);
            }
        }

        private static void CancelInARetryPause()
        {
            using (var client = NewClient())
            {
                client.SetTimeout(TimeSpan.FromSeconds(60)); // a Retry-After of 30 s must fit in it
                CancelledWait("throttled", client);
            }
        }

        private static void CancelBetweenPolls()
        {
            using (var client = NewClient())
            {
                client.SetPollInterval(TimeSpan.FromSeconds(30));
                CancelledWait("progress", client);
            }
        }

        private static void WaitAsync()
        {
            using (var client = NewClient())
            {
                int caller = Thread.CurrentThread.ManagedThreadId;
                int pollThread = caller;
                Task<TeamsOperation> task = client.WaitAsync("/teams('" + Team + "')/operations('create-succeeded')",
                                                             TimeSpan.FromSeconds(10), view =>
                                                             {
                                                                 pollThread = Thread.CurrentThread.ManagedThreadId;
                                                                 return true;
                                                             });
                using (TeamsOperation op = task.Result)
                {
                    Assert.Equal(OperationStatus.Succeeded, op.Status, "Status");
                }
                Assert.True(pollThread != caller, "onPoll ran on a thread-pool thread");
                // Failures come out of the task as Wait throws them.
                var failed = client.WaitAsync("/chats('dotnet-404')/operations('o')", TimeSpan.FromMilliseconds(300));
                AggregateException all = Assert.Throws<AggregateException>(() => failed.Wait(), "a failing WaitAsync");
                Assert.Equal(typeof(TeamsOpException), all.InnerException.GetType(), "its exception");
                Assert.Equal(Result.NotFound, ((TeamsOpException)all.InnerException).Result, "Result");
                // Arguments are checked before the task starts.
                Assert.Throws<ArgumentNullException>(() => client.WaitAsync(null, TimeSpan.FromSeconds(1)), "a null location");
            }
        }

        private static void WaitAsyncCancelled()
        {
            using (var client = NewClient())
            using (var source = new CancellationTokenSource())
            {
                Task<TeamsOperation> task = client.WaitAsync(LongLocation("slow"), TimeSpan.FromSeconds(120), null, source.Token);
                Thread.Sleep(300);
                var watch = Stopwatch.StartNew();
                source.Cancel();
                Assert.Throws<AggregateException>(() => task.Wait(), "a cancelled WaitAsync");
                Assert.Between(0, 100, watch.Elapsed.TotalMilliseconds, "ms from Cancel() to the end of the task");
                Assert.True(task.IsCanceled, "the task is cancelled");
                // Cancelled before it starts: nothing is sent.
                ClearRecordedRequests();
                Task<TeamsOperation> early = client.WaitAsync(LongLocation("progress"), TimeSpan.FromSeconds(10), null, source.Token);
                Assert.Throws<AggregateException>(() => early.Wait(), "a WaitAsync with a cancelled token");
                Assert.True(early.IsCanceled, "cancelled");
                Assert.Equal(0, RecordedPaths().Count, "requests sent");
            }
        }

        private static void TokenProviderBeforeExpiry()
        {
            foreach (var minutes in new[] { 6, 4 })
            {
                using (var client = new TeamsOpClient())
                {
                    client.SetBaseUrl(baseUrl);
                    int calls = 0;
                    client.SetTokenProvider(claims =>
                    {
                        calls++;
                        Assert.Null(claims, "claims before a request");
                        return new TeamsOpToken(token, DateTimeOffset.UtcNow.AddMinutes(minutes));
                    });
                    for (int i = 0; i < 3; i++)
                    {
                        using (TeamsOperation op = client.Get(SeedChat, SeedOp))
                        {
                            AssertSeed(op, "GET " + i);
                        }
                    }
                    Assert.Equal(minutes == 6 ? 1 : 3, calls, "provider calls with " + minutes + "-minute tokens");
                }
            }
        }

        private static void TokenProviderAfterA401GetsTheClaims()
        {
            using (var client = new TeamsOpClient(WrongToken))
            {
                client.SetBaseUrl(baseUrl);
                var seen = new List<string>();
                client.SetTokenProvider(claims =>
                {
                    seen.Add(claims);
                    return new TeamsOpToken(token, null);
                });
                using (TeamsOperation op = client.Get("dotnet-long", "cae"))
                {
                    Assert.Equal(OperationStatus.Succeeded, op.Status, "Status after the renewal");
                }
                Assert.Equal(1, seen.Count, "provider calls");
                Assert.Equal(CaeClaims, seen[0], "the claims handed over");
                TeamsOpException e = Assert.Fails(Result.Unauthorized, () => client.Get("dotnet-long", "cae-always"), "refused again");
                Assert.Equal(401, e.HttpStatus, "HttpStatus");
                Assert.Equal(2, seen.Count, "one renewal, no loop");
                Assert.DoesNotContain(token, e.Message, "Message");
                // Null removes the provider: the token it gave stays.
                client.SetTokenProvider(null);
                using (TeamsOperation op = client.Get(SeedChat, SeedOp))
                {
                    AssertSeed(op, "after removing the provider");
                }
                Assert.Equal(2, seen.Count, "provider calls after removing it");
            }
        }

        private sealed class SignInRequired : Exception
        {
            internal SignInRequired() : base("run az login") { }
        }

        private static void TokenProviderExceptionsStayInDotnet()
        {
            using (var client = new TeamsOpClient())
            {
                client.SetBaseUrl(baseUrl);
                var thrown = new SignInRequired();
                client.SetTokenProvider(claims => { throw thrown; });
                TeamsOpException e = Assert.Fails(Result.Unauthorized, () => client.Get(SeedChat, SeedOp), "a throwing provider");
                Assert.Equal("the token provider threw: run az login", e.Message, "Message");
                Assert.Same(thrown, e.InnerException, "InnerException");
                Assert.Equal(0, e.HttpStatus, "HttpStatus");
                e = Assert.Fails(Result.Unauthorized, () => client.Wait(Location("progress"), TimeSpan.FromSeconds(10)), "through a wait");
                Assert.Same(thrown, e.InnerException, "InnerException of the wait");
                // A provider that returns null.
                client.SetTokenProvider(claims => null);
                e = Assert.Fails(Result.Unauthorized, () => client.Get(SeedChat, SeedOp), "a provider returning null");
                Assert.Contains("returned no token", e.Message, "Message");
                // Nothing is left over for the next call.
                client.SetToken(token);
                client.SetTokenProvider(null);
                using (TeamsOperation op = client.Get(SeedChat, SeedOp))
                {
                    AssertSeed(op, "the next call");
                }
            }
        }

        private static void TokenProviderBadTokens()
        {
            const string secret = "dotnet-secret-part";
            var bad = new[]
            {
                new KeyValuePair<string, string>("", "empty"),
                new KeyValuePair<string, string>(secret + " " + secret, "outside visible ASCII"),
                new KeyValuePair<string, string>(secret + "\0" + secret, "outside visible ASCII"),
                new KeyValuePair<string, string>(secret + "é", "outside visible ASCII"),
                new KeyValuePair<string, string>(secret + new string('x', 20000), "does not fit"),
            };
            foreach (var item in bad)
            {
                using (var client = new TeamsOpClient())
                {
                    client.SetBaseUrl(baseUrl);
                    client.SetTokenProvider(claims => new TeamsOpToken(item.Key, null));
                    TeamsOpException e = Assert.Fails(Result.Unauthorized, () => client.Get(SeedChat, SeedOp), item.Value);
                    Assert.Contains(item.Value, e.Message, "Message");
                    Assert.DoesNotContain(secret, e.Message, "Message");
                    Assert.DoesNotContain(secret, new TeamsOpToken(item.Key, null).ToString(), "ToString");
                }
            }
        }

        private static void TokenProviderKeptAlive()
        {
            using (var client = new TeamsOpClient())
            {
                client.SetBaseUrl(baseUrl);
                int calls = 0;
                SetCountingProvider(client, () => calls++);
                // Nothing else refers to the delegate: the client keeps it alive.
                for (int i = 0; i < 3; i++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    using (TeamsOperation op = client.Get(SeedChat, SeedOp))
                    {
                        AssertSeed(op, "GET " + i);
                    }
                }
                Assert.Equal(3, calls, "provider calls");
            }
        }

        // In a method of its own, so that no local of the caller holds the delegate.
        private static void SetCountingProvider(TeamsOpClient client, Action count)
        {
            client.SetTokenProvider(claims =>
            {
                count();
                return new TeamsOpToken(token, DateTimeOffset.UtcNow.AddMinutes(1));
            });
        }

        private static void TokenProviderCalledOnceAtATime()
        {
            using (var client = new TeamsOpClient())
            {
                client.SetBaseUrl(baseUrl);
                int active = 0, most = 0, calls = 0;
                client.SetTokenProvider(claims =>
                {
                    int now = Interlocked.Increment(ref active);
                    lock (client)
                    {
                        most = Math.Max(most, now);
                        calls++;
                    }
                    Thread.Sleep(20);
                    Interlocked.Decrement(ref active);
                    return new TeamsOpToken(token, DateTimeOffset.UtcNow.AddMinutes(4));
                });
                int failures = 0;
                var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
                {
                    for (int i = 0; i < 4; i++)
                    {
                        try
                        {
                            using (TeamsOperation op = client.Get(SeedChat, SeedOp))
                            {
                                if (op.Id != SeedOp)
                                {
                                    Interlocked.Increment(ref failures);
                                }
                            }
                        }
                        catch (TeamsOpException)
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
                Assert.Equal(0, failures, "failed GETs");
                Assert.Equal(1, most, "provider calls at once");
                Assert.Between(1, 32, calls, "provider calls");
            }
        }

        private static void LogLines()
        {
            using (var client = NewClient())
            {
                var lines = new List<KeyValuePair<TeamsOpLogLevel, string>>();
                client.SetLog(TeamsOpLogLevel.Debug, (level, line) =>
                {
                    lock (lines)
                    {
                        lines.Add(new KeyValuePair<TeamsOpLogLevel, string>(level, line));
                    }
                });
                using (client.Get(SeedChat, SeedOp))
                {
                }
                Assert.Fails(Result.NotFound, () => client.Get("dotnet-404", "o"), "a 404");
                Assert.Equal(2, lines.Count(l => l.Key == TeamsOpLogLevel.Info && l.Value.StartsWith("GET ", StringComparison.Ordinal)), "INFO lines");
                Assert.Equal(1, lines.Count(l => l.Key == TeamsOpLogLevel.Error && l.Value.Contains("TEAMSOP_ERR_NOT_FOUND")), "ERROR lines");
                Assert.True(lines.Any(l => l.Key == TeamsOpLogLevel.Debug && l.Value.Contains("connection")), "a DEBUG line for the connection");
                foreach (var l in lines)
                {
                    Assert.DoesNotContain(token, l.Value, "a log line");
                    Assert.DoesNotContain("\n", l.Value, "a log line");
                }
                // A throwing delegate: the call goes on.
                client.SetLog(TeamsOpLogLevel.Info, (level, line) => { throw new InvalidOperationException("log full"); });
                using (TeamsOperation op = client.Get(SeedChat, SeedOp))
                {
                    AssertSeed(op, "with a throwing log delegate");
                }
                // Off, and levels outside the enum refused.
                int before = lines.Count;
                client.SetLog(TeamsOpLogLevel.Info, null);
                using (client.Get(SeedChat, SeedOp))
                {
                }
                Assert.Equal(before, lines.Count, "lines with logging off");
                Assert.Fails(Result.InvalidArgument, () => client.SetLog((TeamsOpLogLevel)0, (level, line) => { }), "level 0");
                Assert.Fails(Result.InvalidArgument, () => client.SetLog((TeamsOpLogLevel)5, null), "level 5");
            }
        }

        // ------------------------------------------------------------ lifetime

        private static void DisposeTwiceIsSafe()
        {
            var client = NewClient();
            TeamsOperation op = client.Get(SeedChat, SeedOp);
            op.Dispose();
            op.Dispose();
            client.Dispose();
            client.Dispose();
            TeamsOperation parsed = TeamsOpClient.Parse("{}");
            parsed.Dispose();
            parsed.Dispose();
        }

        private static void UseAfterDispose()
        {
            var client = NewClient();
            TeamsOperation op = client.Get(SeedChat, SeedOp);
            op.Dispose();
            Assert.Throws<ObjectDisposedException>(() => { var unused = op.Id; }, "op.Id");
            Assert.Throws<ObjectDisposedException>(() => { var unused = op.Status; }, "op.Status");
            Assert.Throws<ObjectDisposedException>(() => { var unused = op.Json; }, "op.Json");
            Assert.Throws<ObjectDisposedException>(() => { var unused = op.CreatedDateTime; }, "op.CreatedDateTime");
            Assert.Throws<ObjectDisposedException>(() => { var unused = op.IsTerminal; }, "op.IsTerminal");
            client.Dispose();
            Assert.Throws<ObjectDisposedException>(() => client.Get(SeedChat, SeedOp), "client.Get");
            Assert.Throws<ObjectDisposedException>(() => client.GetTeamOperation(Team, "create-succeeded"), "client.GetTeamOperation");
            Assert.Throws<ObjectDisposedException>(() => client.GetLocation("/chats('a')/operations('b')"), "client.GetLocation");
            Assert.Throws<ObjectDisposedException>(() => client.Wait("/chats('a')/operations('b')", TimeSpan.FromSeconds(1)), "client.Wait");
            Assert.Throws<ObjectDisposedException>(() => client.SetToken(token), "client.SetToken");
            Assert.Throws<ObjectDisposedException>(() => client.SetTimeout(TimeSpan.FromSeconds(1)), "client.SetTimeout");
            Assert.Throws<ObjectDisposedException>(() => client.SetSelect(null), "client.SetSelect");
        }

        private static void OperationOutlivesClient()
        {
            TeamsOperation op;
            using (var client = NewClient())
            {
                op = client.Get(SeedChat, SeedOp);
            }
            using (op)
            {
                AssertSeed(op, "after the client's Dispose");
            }
        }

        private static void FinalizerFreesUndisposed()
        {
            using (var client = NewClient())
            {
                for (int i = 0; i < 50; i++)
                {
                    client.Get(SeedChat, SeedOp); // never disposed: the SafeHandle's finalizer frees it
                    TeamsOpClient.Parse(seedFixture);
                }
            }
            for (int i = 0; i < 20; i++)
            {
                new TeamsOpClient(token); // never disposed
            }
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using (var op = TeamsOpClient.Parse(seedFixture))
            {
                Assert.Equal(SeedOp, op.Id, "Id after the finalizers ran");
            }
        }

        // ------------------------------------------------------------ threads

        private static void ThreadsShareOneClient()
        {
            using (var client = NewClient())
            {
                const int threadCount = 8;
                const int rounds = 25;
                var errors = new List<string>();
                var done = new ManualResetEventSlim(false);
                var threads = new List<Thread>();
                int fetched = 0;
                for (int t = 0; t < threadCount; t++)
                {
                    int id = t;
                    var thread = new Thread(() =>
                    {
                        try
                        {
                            for (int i = 0; i < rounds; i++)
                            {
                                switch ((id + i) % 3)
                                {
                                    case 0:
                                        using (var op = client.Get(SeedChat, SeedOp))
                                        {
                                            AssertSeed(op, "thread " + id);
                                        }
                                        break;
                                    case 1:
                                        using (var op = client.GetTeamOperation(Team, "create-succeeded"))
                                        {
                                            Assert.Equal(Team, op.TargetResourceId, "TargetResourceId");
                                        }
                                        break;
                                    default:
                                        using (var op = client.GetLocation("/teams('" + Team + "')/operations('archive-failed')"))
                                        {
                                            Assert.Equal("Conflict", op.ErrorCode, "ErrorCode");
                                        }
                                        break;
                                }
                                Interlocked.Increment(ref fetched);
                            }
                        }
                        catch (Exception e)
                        {
                            lock (errors)
                            {
                                errors.Add("thread " + id + ": " + e.Message);
                            }
                        }
                    });
                    threads.Add(thread);
                    thread.Start();
                }
                // Setters from another thread meanwhile (values that change no answer).
                var setter = new Thread(() =>
                {
                    try
                    {
                        while (!done.IsSet)
                        {
                            client.SetTimeout(TimeSpan.FromSeconds(30));
                            client.SetMaxRetries(3);
                            client.SetToken(token);
                            client.SetBaseUrl(baseUrl);
                            Thread.Sleep(1);
                        }
                    }
                    catch (Exception e)
                    {
                        lock (errors)
                        {
                            errors.Add("setter: " + e.Message);
                        }
                    }
                });
                setter.Start();
                foreach (var thread in threads)
                {
                    thread.Join();
                }
                done.Set();
                setter.Join();
                Assert.Equal("", string.Join("; ", errors), "errors in threads");
                Assert.Equal(threadCount * rounds, fetched, "operations fetched");

                // And the thread pool, through Parallel.
                int parallelFetched = 0;
                Parallel.For(0, 40, i =>
                {
                    using (var op = client.Get(SeedChat, SeedOp))
                    {
                        if (op.Id == SeedOp)
                        {
                            Interlocked.Increment(ref parallelFetched);
                        }
                    }
                });
                Assert.Equal(40, parallelFetched, "operations fetched by Parallel.For");
            }
        }

        /// <summary>Each thread's exception carries its own call's record (teamsop_last_* are per thread).</summary>
        private static void ThreadsGetTheirOwnErrors()
        {
            using (var client = NewClient())
            using (var wrong = new TeamsOpClient(WrongToken))
            {
                wrong.SetBaseUrl(baseUrl);
                var errors = new List<string>();
                Parallel.For(0, 96, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
                {
                    try
                    {
                        switch (i % 4)
                        {
                            case 0:
                            {
                                TeamsOpException e = Assert.Fails(Result.NotFound, () => client.Get("dotnet-404", "o"), "404");
                                Assert.Equal(404, e.HttpStatus, "404 HttpStatus");
                                Assert.Equal("NotFound", e.GraphCode, "404 GraphCode");
                                Assert.Equal("11111111-2222-3333-4444-555555555555", e.RequestId, "404 RequestId");
                                break;
                            }
                            case 1:
                            {
                                TeamsOpException e = Assert.Fails(Result.Forbidden, () => client.GetTeamOperation("forbidden", "x"), "403");
                                Assert.Equal(403, e.HttpStatus, "403 HttpStatus");
                                Assert.Equal("Forbidden", e.GraphCode, "403 GraphCode");
                                break;
                            }
                            case 2:
                            {
                                TeamsOpException e = Assert.Fails(Result.Unauthorized, () => wrong.Get(SeedChat, SeedOp), "401");
                                Assert.Equal(401, e.HttpStatus, "401 HttpStatus");
                                Assert.Equal("InvalidAuthenticationToken", e.GraphCode, "401 GraphCode");
                                break;
                            }
                            default:
                            {
                                TeamsOpException e = Assert.Fails(Result.Parse, () => TeamsOpClient.Parse("nope"), "parse");
                                Assert.Equal(0, e.HttpStatus, "parse HttpStatus");
                                Assert.Null(e.GraphCode, "parse GraphCode");
                                Assert.Null(e.RequestId, "parse RequestId");
                                break;
                            }
                        }
                    }
                    catch (Exception e)
                    {
                        lock (errors)
                        {
                            errors.Add(i + ": " + e.Message);
                        }
                    }
                });
                Assert.Equal("", string.Join("; ", errors), "errors");
            }
        }

        /// <summary>Dispose while other threads are inside calls: the native free waits for them; later calls throw ObjectDisposedException.</summary>
        private static void DisposeClientWhileThreadsUseIt()
        {
            var client = NewClient();
            var unexpected = new List<string>();
            int completed = 0;
            int disposedSeen = 0;
            var threads = new List<Thread>();
            for (int t = 0; t < 6; t++)
            {
                var thread = new Thread(() =>
                {
                    for (;;)
                    {
                        try
                        {
                            using (var op = client.Get(SeedChat, SeedOp))
                            {
                                if (op.Id != SeedOp)
                                {
                                    throw new AssertionException("wrong Id " + op.Id);
                                }
                            }
                            Interlocked.Increment(ref completed);
                        }
                        catch (ObjectDisposedException)
                        {
                            Interlocked.Increment(ref disposedSeen);
                            return;
                        }
                        catch (Exception e)
                        {
                            lock (unexpected)
                            {
                                unexpected.Add(e.GetType().Name + ": " + e.Message);
                            }
                            return;
                        }
                    }
                });
                threads.Add(thread);
                thread.Start();
            }
            WaitUntil(() => Volatile.Read(ref completed) >= 12, "12 calls completed before the Dispose");
            client.Dispose();
            foreach (var thread in threads)
            {
                Assert.True(thread.Join(TimeSpan.FromSeconds(30)), "a thread ended after the Dispose");
            }
            Assert.Equal("", string.Join("; ", unexpected), "unexpected exceptions");
            Assert.Equal(6, disposedSeen, "threads that saw ObjectDisposedException");
            Assert.True(completed > 0, "calls completed before the Dispose: " + completed);
        }

        private static void DisposeOperationWhileThreadsReadIt()
        {
            TeamsOperation op = TeamsOpClient.Parse(seedFixture);
            var unexpected = new List<string>();
            int reads = 0;
            int disposedSeen = 0;
            var threads = new List<Thread>();
            for (int t = 0; t < 6; t++)
            {
                var thread = new Thread(() =>
                {
                    for (;;)
                    {
                        try
                        {
                            string json = op.Json;
                            if (json != seedFixture || op.Id != SeedOp)
                            {
                                throw new AssertionException("a torn read");
                            }
                            Interlocked.Increment(ref reads);
                        }
                        catch (ObjectDisposedException)
                        {
                            Interlocked.Increment(ref disposedSeen);
                            return;
                        }
                        catch (Exception e)
                        {
                            lock (unexpected)
                            {
                                unexpected.Add(e.GetType().Name + ": " + e.Message);
                            }
                            return;
                        }
                    }
                });
                threads.Add(thread);
                thread.Start();
            }
            WaitUntil(() => Volatile.Read(ref reads) >= 12, "12 reads before the Dispose");
            op.Dispose();
            foreach (var thread in threads)
            {
                Assert.True(thread.Join(TimeSpan.FromSeconds(30)), "a reader ended after the Dispose");
            }
            Assert.Equal("", string.Join("; ", unexpected), "unexpected exceptions");
            Assert.Equal(6, disposedSeen, "readers that saw ObjectDisposedException");
            Assert.True(reads > 0, "reads before the Dispose: " + reads);
        }

        // ------------------------------------------------------------ many operations at once
        // Only the emulator's preloaded operations (and team "forbidden", answered 403).

        private static string TeamOp(string op)
        {
            return "/teams('" + Team + "')/operations('" + op + "')";
        }

        private static void BatchReportsEachOperationOnce()
        {
            using (var client = NewClient())
            using (var batch = new TeamsOpBatch(client))
            {
                Assert.Same(client, batch.Client, "Client");
                Assert.Equal(10, batch.MaxGetsPerSecond, "MaxGetsPerSecond by default");
                Assert.True(batch.JsonBatching, "JsonBatching by default");
                Assert.Equal(10, batch.CurrentGetsPerSecond, "CurrentGetsPerSecond by default");
                batch.MaxGetsPerSecond = 100;
                Assert.Equal(100, batch.CurrentGetsPerSecond, "CurrentGetsPerSecond after MaxGetsPerSecond");
                batch.Add(TeamOp("create-succeeded"), 10);
                batch.Add(TeamOp("archive-failed"), 11);
                batch.Add("/teams('forbidden')/operations('o')", 12);
                batch.Add("/v1.0" + TeamOp("create-succeeded"), 13);
                batch.Add("/chats('" + SeedChat + "')/operations('" + SeedOp + "')", 14);
                Assert.Equal(5L, batch.Pending, "Pending after Add");
                var seen = new Dictionary<ulong, string>();
                TeamsOperationView kept = null;
                batch.Run(TimeSpan.FromSeconds(20), (tag, op, error) =>
                {
                    Assert.True((op == null) != (error == null), "either an operation or an error");
                    seen.Add(tag, op != null ? op.StatusText : error.Result + " " + error.HttpStatus + " " + error.GraphCode);
                    if (tag == 14)
                    {
                        // Every field as from a single GET (the body's text is the $batch's).
                        Assert.Equal(SeedOp, op.Id, "the seed's Id");
                        Assert.Equal(OperationType.CreateChat, op.Type, "the seed's Type");
                        Assert.Equal((int?)1, op.AttemptsCount, "the seed's AttemptsCount");
                        Assert.Equal("{\"appIds\":[\"1542629c-01b3-4a6d-8f76-1938b779e48d\"]}", op.Values, "the seed's Values");
                        kept = op;
                    }
                    return true;
                });
                Assert.Equal(0L, batch.Pending, "Pending after the run");
                Assert.Equal("succeeded", seen[10], "10");
                Assert.Equal("failed", seen[11], "11");
                Assert.Equal("Forbidden 403 Forbidden", seen[12], "12");
                Assert.Equal("succeeded", seen[13], "13");
                Assert.Equal(5, seen.Count, "reports");
                Assert.Throws<ObjectDisposedException>(() => { var unused = kept.Id; }, "a view after its callback");
                // Nothing left: a run ends at once, the callback never called.
                batch.Run(TimeSpan.FromSeconds(1), (tag, op, error) => { throw new AssertionException("reported twice"); });
                // No callback: followed to their end and forgotten.
                batch.Add(TeamOp("archive-failed"), 1);
                batch.Run(TimeSpan.FromSeconds(20), null);
                Assert.Equal(0L, batch.Pending, "Pending after a run without callback");
            }
        }

        private static void BatchArguments()
        {
            Assert.Throws<ArgumentNullException>(() => new TeamsOpBatch(null), "new TeamsOpBatch(null)");
            var gone = NewClient();
            gone.Dispose();
            Assert.Throws<ObjectDisposedException>(() => new TeamsOpBatch(gone), "a disposed client");
            using (var client = NewClient())
            using (var batch = new TeamsOpBatch(client))
            {
                Assert.Throws<ArgumentNullException>(() => batch.Add(null, 1), "Add(null)");
                Assert.Throws<ArgumentException>(() => batch.Add("/teams('a')/operations('b\0')", 1), "Add with U+0000");
                Assert.Fails(Result.InvalidArgument, () => batch.Add("/nope('x')", 1), "a refused Location");
                Assert.Fails(Result.InvalidArgument, () => batch.Add("", 1), "an empty Location");
                Assert.Equal(0L, batch.Pending, "nothing added");
                Assert.Fails(Result.InvalidArgument, () => batch.MaxGetsPerSecond = 0, "MaxGetsPerSecond = 0");
                Assert.Fails(Result.InvalidArgument, () => batch.MaxGetsPerSecond = 1001, "MaxGetsPerSecond = 1001");
                Assert.Throws<ArgumentOutOfRangeException>(() => batch.MaxGetsPerSecond = -1, "MaxGetsPerSecond = -1");
                Assert.Equal(10, batch.MaxGetsPerSecond, "unchanged by refused values");
                batch.MaxGetsPerSecond = 1000;
                Assert.Equal(1000, batch.MaxGetsPerSecond, "MaxGetsPerSecond = 1000");
                batch.JsonBatching = false;
                Assert.True(!batch.JsonBatching, "JsonBatching = false");
                Assert.Throws<ArgumentOutOfRangeException>(() => batch.Run(TimeSpan.FromMilliseconds(-5), null), "a negative timeout");
                Assert.Fails(Result.InvalidArgument, () => batch.Run(TimeSpan.Zero, null), "a zero timeout");
                Assert.Throws<ArgumentOutOfRangeException>(() => batch.RunReports(TimeSpan.FromDays(100)), "RunReports checks at once");
            }
            var disposed = new TeamsOpBatch(NewClient());
            disposed.Dispose();
            disposed.Dispose();
            Assert.Throws<ObjectDisposedException>(() => disposed.Add(TeamOp("create-succeeded"), 1), "Add after Dispose");
            Assert.Throws<ObjectDisposedException>(() => { var unused = disposed.Pending; }, "Pending after Dispose");
            Assert.Throws<ObjectDisposedException>(() => disposed.Run(TimeSpan.FromSeconds(1), null), "Run after Dispose");
            Assert.Throws<ObjectDisposedException>(() => disposed.RunReports(TimeSpan.FromSeconds(1)), "RunReports after Dispose");
        }

        private static void BatchCallbackFalseAndExceptions()
        {
            using (var client = NewClient())
            using (var batch = new TeamsOpBatch(client))
            {
                batch.JsonBatching = false; // one report per GET
                for (ulong i = 0; i < 5; i++)
                {
                    batch.Add(TeamOp("create-succeeded"), i);
                }
                int calls = 0;
                TeamsOpException e = Assert.Fails(Result.Cancelled, () => batch.Run(TimeSpan.FromSeconds(20), (tag, op, error) => ++calls < 2), "false stops the run");
                Assert.Contains("on_done", e.Message, "Message");
                Assert.Equal(2, calls, "calls");
                Assert.Equal(3L, batch.Pending, "the one that said stop counts as reported");
                var thrown = new InvalidTimeZoneException("mine");
                var caught = Assert.Throws<InvalidTimeZoneException>(() => batch.Run(TimeSpan.FromSeconds(20), (tag, op, error) => { throw thrown; }), "a callback's exception");
                Assert.Same(thrown, caught, "the very exception");
                Assert.Equal(2L, batch.Pending, "the one that threw counts as reported");
                var rest = new List<ulong>();
                batch.Run(TimeSpan.FromSeconds(20), (tag, op, error) => { rest.Add(tag); return true; });
                Assert.Equal("[3, 4]", Assert.Show(rest), "the rest, in order");
            }
        }

        private static void BatchCallbackCallsBackIn()
        {
            using (var client = NewClient())
            using (var batch = new TeamsOpBatch(client))
            {
                batch.Add(TeamOp("create-succeeded"), 1);
                batch.Add("/teams('forbidden')/operations('o')", 2);
                var refused = new List<string>();
                batch.Run(TimeSpan.FromSeconds(20), (tag, op, error) =>
                {
                    try
                    {
                        batch.Add(TeamOp("create-succeeded"), 99);
                    }
                    catch (TeamsOpException e)
                    {
                        refused.Add("Add " + e.Result);
                    }
                    try
                    {
                        batch.Run(TimeSpan.FromSeconds(1), null);
                    }
                    catch (TeamsOpException e)
                    {
                        refused.Add("Run " + e.Result);
                    }
                    Assert.True(batch.Pending <= 1, "Pending from the callback");
                    using (var other = new TeamsOpBatch(client))
                    using (TeamsOperation got = client.GetLocation(TeamOp("archive-failed")))
                    {
                        other.Add(TeamOp("archive-failed"), tag);
                        other.Run(TimeSpan.FromSeconds(10), null);
                        Assert.Equal(OperationStatus.Failed, got.Status, "a GET from the callback");
                    }
                    return true;
                });
                Assert.Equal("Add InvalidArgument, Run InvalidArgument, Add InvalidArgument, Run InvalidArgument", string.Join(", ", refused), "refused");
                Assert.Equal(0L, batch.Pending, "Pending");
            }
        }

        private static void BatchTimeoutAndCancellationToken()
        {
            using (var client = NewClient())
            using (var batch = new TeamsOpBatch(client))
            {
                batch.Add(TeamOp("clone-in-progress"), 1); // never ends
                var watch = Stopwatch.StartNew();
                Assert.Fails(Result.Timeout, () => batch.Run(TimeSpan.FromMilliseconds(300), null), "the deadline");
                Assert.Between(0.25, 2.0, watch.Elapsed.TotalSeconds, "seconds to the deadline");
                using (var source = new CancellationTokenSource())
                {
                    source.CancelAfter(TimeSpan.FromMilliseconds(300));
                    watch.Restart();
                    var e = Assert.Throws<OperationCanceledException>(() => batch.Run(TimeSpan.FromSeconds(30), (tag, op, error) => true, source.Token), "a token cancelled during the run");
                    Assert.Equal(source.Token, e.CancellationToken, "CancellationToken");
                    Assert.Between(0.25, 1.5, watch.Elapsed.TotalSeconds, "seconds to the cancel");
                    ClearRecordedRequests();
                    Assert.Throws<OperationCanceledException>(() => batch.Run(TimeSpan.FromSeconds(30), null, source.Token), "an already cancelled token");
                    Assert.Equal(0, RecordedPaths().Count, "requests sent with an already cancelled token");
                }
                Assert.Equal(1L, batch.Pending, "still pending");
                using (var live = new CancellationTokenSource())
                {
                    batch.Add(TeamOp("create-succeeded"), 2);
                    Assert.Fails(Result.Timeout, () => batch.Run(TimeSpan.FromSeconds(1), null, live.Token), "a token never cancelled");
                    Assert.Equal(1L, batch.Pending, "the one that ended was reported");
                }
            }
        }

        private static void BatchRunReports()
        {
            using (var client = NewClient())
            using (var batch = new TeamsOpBatch(client))
            {
                batch.Add(TeamOp("create-succeeded"), 1);
                batch.Add(TeamOp("archive-failed"), 2);
                batch.Add("/teams('forbidden')/operations('o')", 3);
                var reports = new List<TeamsOpBatchReport>();
                foreach (TeamsOpBatchReport report in batch.RunReports(TimeSpan.FromSeconds(20)))
                {
                    reports.Add(report);
                }
                Assert.Equal(3, reports.Count, "reports");
                reports.Sort((a, b) => a.Tag.CompareTo(b.Tag));
                // Owned: readable after the run, until disposed.
                Assert.Equal(OperationStatus.Succeeded, reports[0].Operation.Status, "1");
                Assert.Equal(OperationStatus.Failed, reports[1].Operation.Status, "2");
                Assert.Null(reports[2].Operation, "3 has no operation");
                Assert.Equal(Result.Forbidden, reports[2].Error.Result, "3 Error");
                Assert.Null(reports[0].Error, "1 has no error");
                foreach (var report in reports)
                {
                    report.Dispose();
                    report.Dispose();
                }
                Assert.Throws<ObjectDisposedException>(() => { var unused = reports[0].Operation.Status; }, "a disposed report's operation");
                Assert.Equal(0L, batch.Pending, "Pending");
                // A run that ends in an error throws after the last report.
                batch.Add(TeamOp("create-succeeded"), 4);
                batch.Add(TeamOp("clone-in-progress"), 5);
                var tags = new List<ulong>();
                Assert.Fails(Result.Timeout, () =>
                {
                    foreach (var report in batch.RunReports(TimeSpan.FromMilliseconds(500)))
                    {
                        using (report)
                        {
                            tags.Add(report.Tag);
                        }
                    }
                }, "RunReports past its deadline");
                Assert.Equal("[4]", Assert.Show(tags), "reported before the deadline");
                Assert.Equal(1L, batch.Pending, "Pending");
            }
        }

        private static void BatchRunReportsEndedEarly()
        {
            using (var client = NewClient())
            using (var batch = new TeamsOpBatch(client))
            {
                batch.JsonBatching = false;
                for (ulong i = 0; i < 6; i++)
                {
                    batch.Add(TeamOp("create-succeeded"), i);
                }
                // A break after two: those two were handed out, the run stops, none is lost.
                var tags = new List<ulong>();
                foreach (var report in batch.RunReports(TimeSpan.FromSeconds(20)))
                {
                    using (report)
                    {
                        tags.Add(report.Tag);
                    }
                    if (tags.Count == 2)
                    {
                        break;
                    }
                }
                Assert.Equal(4L, batch.Pending, "Pending after a break");
                // A break while the run waits between polls ends it at once too.
                batch.Add(TeamOp("clone-in-progress"), 100);
                var watch = Stopwatch.StartNew();
                foreach (var report in batch.RunReports(TimeSpan.FromSeconds(30)))
                {
                    using (report)
                    {
                        tags.Add(report.Tag);
                    }
                    if (tags.Count == 6)
                    {
                        break;
                    }
                }
                Assert.Between(0, 5, watch.Elapsed.TotalSeconds, "seconds until the break returned");
                Assert.Equal("[0, 1, 2, 3, 4, 5]", Assert.Show(tags), "every tag once");
                Assert.Equal(1L, batch.Pending, "the one that never ends");
                // The user's token: OperationCanceledException with that token, after the reports.
                using (var source = new CancellationTokenSource())
                {
                    source.CancelAfter(TimeSpan.FromMilliseconds(300));
                    var e = Assert.Throws<OperationCanceledException>(() =>
                    {
                        foreach (var report in batch.RunReports(TimeSpan.FromSeconds(30), source.Token))
                        {
                            report.Dispose();
                        }
                    }, "RunReports with a cancelled token");
                    Assert.Equal(source.Token, e.CancellationToken, "CancellationToken");
                }
            }
        }

        private static void BatchOneThreadAtATime()
        {
            using (var client = NewClient())
            using (var batch = new TeamsOpBatch(client))
            {
                batch.Add(TeamOp("clone-in-progress"), 1);
                Exception fromRun = null;
                var runner = new Thread(() =>
                {
                    try
                    {
                        batch.Run(TimeSpan.FromSeconds(2), (tag, op, error) => true);
                    }
                    catch (Exception e)
                    {
                        fromRun = e;
                    }
                });
                runner.Start();
                WaitUntil(() => RecordedPaths().Count > 0, "the run's first GET");
                Assert.Throws<InvalidOperationException>(() => batch.Add(TeamOp("create-succeeded"), 2), "Add from another thread during a run");
                Assert.Throws<InvalidOperationException>(() => { var unused = batch.Pending; }, "Pending from another thread during a run");
                Assert.True(runner.Join(TimeSpan.FromSeconds(30)), "the run ended");
                Assert.True(fromRun is TeamsOpException && ((TeamsOpException)fromRun).Result == Result.Timeout, "the run's own end: " + fromRun);
                batch.Add(TeamOp("create-succeeded"), 2); // free again
                Assert.Equal(2L, batch.Pending, "Pending");
                // Several batches on several threads share one client.
                int reported = 0;
                var threads = new List<Thread>();
                for (int t = 0; t < 4; t++)
                {
                    var thread = new Thread(() =>
                    {
                        using (var own = new TeamsOpBatch(client))
                        {
                            own.MaxGetsPerSecond = 50;
                            for (ulong i = 0; i < 20; i++)
                            {
                                own.Add(TeamOp(i % 2 == 0 ? "create-succeeded" : "archive-failed"), i);
                            }
                            own.Run(TimeSpan.FromSeconds(30), (tag, op, error) =>
                            {
                                if (op != null && op.Status == (tag % 2 == 0 ? OperationStatus.Succeeded : OperationStatus.Failed))
                                {
                                    Interlocked.Increment(ref reported);
                                }
                                return true;
                            });
                        }
                    });
                    threads.Add(thread);
                    thread.Start();
                }
                foreach (var thread in threads)
                {
                    Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "a batch thread ended");
                }
                Assert.Equal(80, reported, "reported with the right status");
            }
        }

        private static void BatchOutlivesDisposedClient()
        {
            var client = NewClient();
            var batch = new TeamsOpBatch(client);
            batch.Add(TeamOp("archive-failed"), 1);
            client.Dispose(); // the native client stays until the batch is freed
            Assert.Throws<ObjectDisposedException>(() => client.GetLocation(TeamOp("archive-failed")), "the client itself is disposed");
            OperationStatus status = OperationStatus.Absent;
            batch.Run(TimeSpan.FromSeconds(20), (tag, op, error) => { status = op.Status; return true; });
            Assert.Equal(OperationStatus.Failed, status, "a run through the disposed client's native client");
            batch.Dispose();
            // Undisposed batches are freed by their finalizer (no crash, no leak of the client).
            for (int i = 0; i < 20; i++)
            {
                var forgotten = new TeamsOpBatch(NewClient());
                forgotten.Add(TeamOp("create-succeeded"), 1);
            }
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
