// TeamsOpGet: fetch (or wait for) a Microsoft Teams async operation through the
// .NET binding of libteamsop.
//
//   TEAMSOP_TOKEN=... mono TeamsOpGet.exe --chat ID --operation ID
//   TEAMSOP_TOKEN=... mono TeamsOpGet.exe --team ID --operation ID [--json]
//   TEAMSOP_TOKEN=... mono TeamsOpGet.exe --location "/teams('ID')/operations('OP')" --wait 120
//
// The token is read from the TEAMSOP_TOKEN environment variable, never from the
// command line. The base URL is --base-url, else TEAMSOP_BASE_URL, else Graph's
// global beta endpoint.
//
// Exit status: 0 on success; the Result of a failed call (1 to 12); 20 when the
// operation read (with or without --wait) ended without succeeding ("failed" or
// "invalid"), as teamsop-get does; 64 for a usage error; 69 when libteamsop
// could not be loaded (one line on stderr says where it was looked for).

using System;
using System.Diagnostics;
using System.Globalization;
using TeamsOp;

internal static class TeamsOpGet
{
    private const int ExitOperationFailed = 20;
    private const int ExitUsage = 64;
    private const int ExitNoLibrary = 69; // EX_UNAVAILABLE

    private static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (DllNotFoundException e)
        {
            // The binding's message is one sentence: where it looked, what to do.
            Console.Error.WriteLine("TeamsOpGet: " + e.Message);
            return ExitNoLibrary;
        }
    }

    private static int Run(string[] args)
    {
        string chat = null, team = null, operation = null, location = null;
        string baseUrl = Environment.GetEnvironmentVariable("TEAMSOP_BASE_URL");
        int waitSeconds = 0, pollMs = 0;
        bool json = false, quiet = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--help" || arg == "-h") { Usage(); return 0; }
            if (arg == "--version") { Console.WriteLine("TeamsOpGet (libteamsop " + TeamsOpClient.Version + ")"); return 0; }
            if (arg == "--json") { json = true; continue; }
            if (arg == "--quiet") { quiet = true; continue; }
            if (i + 1 >= args.Length) { return UsageError(arg + " needs a value (or is unknown)"); }
            string value = args[++i];
            switch (arg)
            {
                case "--chat": chat = value; break;
                case "--team": team = value; break;
                case "--operation": operation = value; break;
                case "--location": location = value; break;
                case "--base-url": baseUrl = value; break;
                case "--wait":
                    if (!int.TryParse(value, out waitSeconds) || waitSeconds < 1 || waitSeconds > 4294967)
                    {
                        return UsageError("--wait takes seconds, 1 to 4294967");
                    }
                    break;
                case "--poll-ms":
                    if (!int.TryParse(value, out pollMs) || pollMs < 1)
                    {
                        return UsageError("--poll-ms takes milliseconds, at least 1");
                    }
                    break;
                default: return UsageError("unknown option " + arg);
            }
        }
        if (location != null ? (chat != null || team != null || operation != null)
                             : ((chat == null) == (team == null) || operation == null))
        {
            return UsageError("give --chat or --team with --operation, or --location alone");
        }
        if (waitSeconds > 0 && location == null)
        {
            return UsageError("--wait needs --location (the Location of a 202 answer)");
        }
        string token = Environment.GetEnvironmentVariable("TEAMSOP_TOKEN");
        if (string.IsNullOrEmpty(token))
        {
            return UsageError("set the access token in the environment variable TEAMSOP_TOKEN");
        }

        try
        {
            using (var client = new TeamsOpClient(token))
            {
                if (!string.IsNullOrEmpty(baseUrl))
                {
                    client.SetBaseUrl(baseUrl);
                }
                if (pollMs > 0)
                {
                    client.SetPollInterval(TimeSpan.FromMilliseconds(pollMs));
                }

                TeamsOperation op;
                if (waitSeconds > 0)
                {
                    // Poll until succeeded or failed; one progress line per poll, on stderr.
                    var clock = Stopwatch.StartNew();
                    int polls = 0;
                    op = client.Wait(location, TimeSpan.FromSeconds(waitSeconds), current =>
                    {
                        polls++;
                        if (!quiet)
                        {
                            Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture,
                                "[{0,6:F1}s] poll {1}: status={2} attempts={3}",
                                clock.Elapsed.TotalSeconds, polls, current.StatusText ?? "-",
                                current.AttemptsCount.HasValue ? current.AttemptsCount.ToString() : "-"));
                        }
                        return true; // keep waiting
                    });
                    if (!quiet)
                    {
                        Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "[{0,6:F1}s] done after {1} poll(s): {2}",
                            clock.Elapsed.TotalSeconds, polls, op.StatusText ?? "-"));
                    }
                }
                else if (location != null)
                {
                    op = client.GetLocation(location);
                }
                else if (chat != null)
                {
                    op = client.Get(chat, operation);
                }
                else
                {
                    op = client.GetTeamOperation(team, operation);
                }

                using (op)
                {
                    if (json)
                    {
                        Console.WriteLine(op.Json);
                    }
                    else
                    {
                        PrintTable(op);
                    }
                    bool notSucceeded = op.Status == OperationStatus.Failed || op.Status == OperationStatus.Invalid;
                    return notSucceeded ? ExitOperationFailed : 0;
                }
            }
        }
        catch (TeamsOpException e)
        {
            Console.Error.WriteLine("TeamsOpGet: {0}: {1}", TeamsOpClient.ResultName(e.Result), e.Message);
            if (e.HttpStatus != 0) Console.Error.WriteLine("  http status:       {0}", e.HttpStatus);
            if (e.GraphCode != null) Console.Error.WriteLine("  graph code:        {0}", e.GraphCode);
            if (e.RequestId != null) Console.Error.WriteLine("  request-id:        {0}", e.RequestId);
            if (e.ClientRequestId != null) Console.Error.WriteLine("  client-request-id: {0}", e.ClientRequestId);
            return (int)e.Result;
        }
        catch (ArgumentException e)
        {
            return UsageError(e.Message);
        }
    }

    private static void PrintTable(TeamsOperation op)
    {
        Row("id", op.Id);
        Row("status", op.StatusText);
        Row("operationType", op.TypeText);
        Time("createdDateTime", op.CreatedDateTimeText, op.CreatedDateTime);
        Time("lastActionDateTime", op.LastActionDateTimeText, op.LastActionDateTime);
        Row("attemptsCount", op.AttemptsCount.HasValue ? op.AttemptsCount.ToString() : null);
        Row("targetResourceId", op.TargetResourceId);
        Row("targetResourceLocation", op.TargetResourceLocation);
        Row("values", op.Values);
        Row("error", op.ErrorCode == null && op.ErrorMessage == null
                         ? null : (op.ErrorCode ?? "-") + ": " + (op.ErrorMessage ?? "-"));
    }

    private static void Row(string label, string value)
    {
        Console.WriteLine("{0,-24} {1}", label, value ?? "-");
    }

    private static void Time(string label, string text, DateTimeOffset? instant)
    {
        Row(label, text == null ? null
                 : instant.HasValue ? text + " (unix ms " + instant.Value.ToUnixTimeMilliseconds() + ")"
                 : text + " (unparseable)");
    }

    private static void Usage()
    {
        Console.WriteLine(
            "usage: TeamsOpGet (--chat ID | --team ID) --operation ID [--base-url URL] [--json]\n" +
            "       TeamsOpGet --location LOCATION [--wait SECONDS [--poll-ms MS] [--quiet]] [--base-url URL] [--json]\n" +
            "\n" +
            "The token is read from TEAMSOP_TOKEN; the base URL defaults to TEAMSOP_BASE_URL, else\n" +
            "https://graph.microsoft.com/beta.\n" +
            "exit status: 0 ok; 1-12 the Result of the failure; 20 the operation ended without succeeding (failed or invalid);\n" +
            "64 usage error; 69 libteamsop could not be loaded.");
    }

    private static int UsageError(string message)
    {
        Console.Error.WriteLine("TeamsOpGet: " + message);
        Console.Error.WriteLine("run TeamsOpGet --help for the usage");
        return ExitUsage;
    }
}
