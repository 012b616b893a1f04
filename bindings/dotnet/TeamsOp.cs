// TeamsOp.cs: the .NET binding of libteamsop (follow Microsoft Teams async
// operations through Microsoft Graph), over the C ABI of include/teamsop.h.
//
// One source file, no dependencies: it builds with mcs (Mono), csc (.NET Framework
// 4.6+) and the .NET SDK (.NET 6+). It uses DllImport (not LibraryImport), so the
// same code runs on Mono, .NET Framework and .NET 6+. The native library is
// loaded by the name "teamsop" (libteamsop.so on Linux); see README.md for how a
// project ships or finds it. LibraryLoader makes sure it is there before the
// first call, and turns its absence into one DllNotFoundException that says
// where it was looked for.
//
// Marshalling rules kept here, once for all:
// - Strings go in as NUL-terminated UTF-8 byte arrays built by Utf8.ToNative
//   (never CharSet.Ansi, whose meaning depends on the platform).
// - Strings come out as IntPtr, decoded from UTF-8 at once (Utf8.FromNative)
//   while the memory they point to is alive.
// - C bool is one byte (UnmanagedType.I1), for returns and for the callback.
// - uint32_t parameters that carry an enum are passed as uint.
// - Handles are SafeHandles: the runtime adds a reference for the length of each
//   call, so a Dispose racing with a call on another thread defers the free until
//   that call has returned, and a handle is freed exactly once.
// - No managed exception ever unwinds through native frames: the teamsop_wait
//   callback catches everything and rethrows after the native call returned; the
//   token provider's exception is kept (per thread) and thrown, inside a
//   TeamsOpException, after the call that asked for the token returned; a log
//   delegate's exception is dropped.
// - Delegates handed to native code (token provider, log) are kept by the
//   client's SafeHandle for as long as the native client lives.

using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TeamsOp
{
    /// <summary>
    /// The result of a library call (C <c>teamsop_result</c>); the values are the C
    /// values, which are never renumbered. Every result but <see cref="Ok"/> reaches
    /// .NET code as a <see cref="TeamsOpException"/> carrying it.
    /// </summary>
    public enum Result
    {
        /// <summary>Success (<c>TEAMSOP_OK</c>).</summary>
        Ok = 0,
        /// <summary>An empty, <c>.</c> or <c>..</c> id, a bad URL, Location or setting, or no token set. Nothing was sent (<c>TEAMSOP_ERR_INVALID_ARGUMENT</c>).</summary>
        InvalidArgument = 1,
        /// <summary>DNS, connect, TLS, a reset or a truncated body (<c>TEAMSOP_ERR_TRANSPORT</c>).</summary>
        Transport = 2,
        /// <summary>The client's request timeout, or the deadline of <see cref="TeamsOpClient.Wait(string, TimeSpan, Func{TeamsOperationView, bool})"/>, passed (<c>TEAMSOP_ERR_TIMEOUT</c>).</summary>
        Timeout = 3,
        /// <summary>HTTP 401: the token is missing, expired or for another audience (<c>TEAMSOP_ERR_UNAUTHORIZED</c>).</summary>
        Unauthorized = 4,
        /// <summary>HTTP 403: the token lacks a permission (<c>TEAMSOP_ERR_FORBIDDEN</c>).</summary>
        Forbidden = 5,
        /// <summary>HTTP 404: no such chat, team or operation (<c>TEAMSOP_ERR_NOT_FOUND</c>).</summary>
        NotFound = 6,
        /// <summary>HTTP 429 still returned after the retries (<c>TEAMSOP_ERR_THROTTLED</c>).</summary>
        Throttled = 7,
        /// <summary>Any other non-2xx status, after the retries for 503 and 504 (<c>TEAMSOP_ERR_HTTP</c>).</summary>
        Http = 8,
        /// <summary>The body is not a teamsAsyncOperation JSON object (<c>TEAMSOP_ERR_PARSE</c>).</summary>
        Parse = 9,
        /// <summary>The body is larger than the client's cap (<c>TEAMSOP_ERR_TOO_LARGE</c>).</summary>
        TooLarge = 10,
        /// <summary>The wait's callback returned false, or threw (then the callback's exception is what surfaces) (<c>TEAMSOP_ERR_CANCELLED</c>).</summary>
        Cancelled = 11,
        /// <summary>A bug, caught at the boundary; the process is unharmed (<c>TEAMSOP_ERR_INTERNAL</c>).</summary>
        Internal = 12,
    }

    /// <summary>
    /// Graph's teamsAsyncOperationStatus (C <c>teamsop_status</c>, same values), plus
    /// the library's own <see cref="Unrecognized"/> and <see cref="Absent"/>.
    /// </summary>
    public enum OperationStatus
    {
        /// <summary><c>invalid</c></summary>
        Invalid = 0,
        /// <summary><c>notStarted</c></summary>
        NotStarted = 1,
        /// <summary><c>inProgress</c></summary>
        InProgress = 2,
        /// <summary><c>succeeded</c></summary>
        Succeeded = 3,
        /// <summary><c>failed</c></summary>
        Failed = 4,
        /// <summary><c>unknownFutureValue</c></summary>
        UnknownFutureValue = 5,
        /// <summary>A string this version does not know: read <see cref="TeamsOperationBase.StatusText"/>.</summary>
        Unrecognized = 6,
        /// <summary>Not in the response (null, or left out by <c>$select</c>).</summary>
        Absent = 7,
    }

    /// <summary>
    /// Graph's teamsAsyncOperationType, beta (C <c>teamsop_type</c>, same values),
    /// plus the library's own <see cref="Unrecognized"/> and <see cref="Absent"/>.
    /// </summary>
    public enum OperationType
    {
        /// <summary><c>invalid</c></summary>
        Invalid = 0,
        /// <summary><c>cloneTeam</c></summary>
        CloneTeam = 1,
        /// <summary><c>archiveTeam</c></summary>
        ArchiveTeam = 2,
        /// <summary><c>unarchiveTeam</c></summary>
        UnarchiveTeam = 3,
        /// <summary><c>createTeam</c></summary>
        CreateTeam = 4,
        /// <summary><c>unknownFutureValue</c></summary>
        UnknownFutureValue = 5,
        /// <summary><c>teamifyGroup</c></summary>
        TeamifyGroup = 6,
        /// <summary><c>createChannel</c></summary>
        CreateChannel = 7,
        /// <summary><c>createChat</c></summary>
        CreateChat = 8,
        /// <summary><c>archiveChannel</c></summary>
        ArchiveChannel = 9,
        /// <summary><c>unarchiveChannel</c></summary>
        UnarchiveChannel = 10,
        /// <summary>A string this version does not know: read <see cref="TeamsOperationBase.TypeText"/>.</summary>
        Unrecognized = 11,
        /// <summary>Not in the response (null, or left out by <c>$select</c>).</summary>
        Absent = 12,
    }

    /// <summary>National clouds, for <see cref="TeamsOpClient.SetCloud"/> (C <c>teamsop_cloud</c>, same values).</summary>
    public enum Cloud
    {
        /// <summary>https://graph.microsoft.com</summary>
        Global = 0,
        /// <summary>https://graph.microsoft.us (US Government L4, GCC High)</summary>
        UsGov = 1,
        /// <summary>https://dod-graph.microsoft.us (US Government L5, DoD)</summary>
        UsGovDod = 2,
        /// <summary>https://microsoftgraph.chinacloudapi.cn (operated by 21Vianet)</summary>
        China = 3,
    }

    /// <summary>How much a log line matters (C <c>teamsop_log_level</c>, same values); a log set for a level gets that level and those above it.</summary>
    public enum TeamsOpLogLevel
    {
        /// <summary>A call failed: its result and message.</summary>
        Error = 1,
        /// <summary>A retry (429/503/504/reset): status or fault, attempt, pause.</summary>
        Warn = 2,
        /// <summary>Each HTTP request sent: method, URL, status, milliseconds, request-id, client-request-id.</summary>
        Info = 3,
        /// <summary>404 re-polls, connections opened or reused, TLS, proxy, pacing, token renewals.</summary>
        Debug = 4,
    }

    /// <summary>
    /// What a token provider (<see cref="TeamsOpClient.SetTokenProvider"/>) gives: an access
    /// token and, when known, when it expires. Its <see cref="ToString"/> never shows the token.
    /// </summary>
    public sealed class TeamsOpToken
    {
        /// <summary>A token and its expiry.</summary>
        /// <param name="accessToken">The bearer token: visible ASCII, not empty, under 16384 bytes.</param>
        /// <param name="expiresOn">When it expires, or null when unknown (it is then renewed only after a 401).</param>
        public TeamsOpToken(string accessToken, DateTimeOffset? expiresOn)
        {
            AccessToken = accessToken;
            ExpiresOn = expiresOn;
        }

        /// <summary>The bearer token.</summary>
        public string AccessToken { get; private set; }

        /// <summary>When it expires, or null when unknown.</summary>
        public DateTimeOffset? ExpiresOn { get; private set; }

        /// <summary>The expiry, never the token.</summary>
        /// <returns>A description without the token.</returns>
        public override string ToString()
        {
            return ExpiresOn.HasValue ? "TeamsOpToken (expires " + ExpiresOn.Value.ToString("o") + ")" : "TeamsOpToken (expiry unknown)";
        }
    }

    /// <summary>
    /// A failed library call: the <see cref="Result"/> and what the library recorded
    /// about it (<c>teamsop_last_*</c>, read on the calling thread right after the
    /// failing call). Never contains the access token.
    /// </summary>
    public class TeamsOpException : Exception
    {
        /// <summary>Creates an exception; the binding itself builds them from the library's per-thread error record.</summary>
        /// <param name="result">The result of the call; not <see cref="TeamsOp.Result.Ok"/> in practice.</param>
        /// <param name="message">The library's message (<c>teamsop_last_error_message</c>).</param>
        /// <param name="httpStatus">The HTTP status of the last response received, or 0.</param>
        /// <param name="graphCode">Graph's <c>error.code</c>, or null.</param>
        /// <param name="requestId">Graph's <c>request-id</c>, or null.</param>
        /// <param name="clientRequestId">The <c>client-request-id</c> sent, or null.</param>
        public TeamsOpException(Result result, string message, int httpStatus, string graphCode,
                                string requestId, string clientRequestId)
            : base(message)
        {
            Result = result;
            HttpStatus = httpStatus;
            GraphCode = graphCode;
            RequestId = requestId;
            ClientRequestId = clientRequestId;
        }

        // A failure whose cause is another exception (a token provider's).
        internal TeamsOpException(Result result, string message, int httpStatus, string graphCode,
                                  string requestId, string clientRequestId, Exception inner)
            : base(message, inner)
        {
            Result = result;
            HttpStatus = httpStatus;
            GraphCode = graphCode;
            RequestId = requestId;
            ClientRequestId = clientRequestId;
        }

        /// <summary>The result of the failing call, never <see cref="TeamsOp.Result.Ok"/>.</summary>
        public Result Result { get; private set; }

        /// <summary>
        /// The HTTP status of the last response received during the failing call (so 200
        /// after a <see cref="TeamsOp.Result.Parse"/> of a 200 body), or 0 when none was received.
        /// </summary>
        public int HttpStatus { get; private set; }

        /// <summary>Graph's <c>error.code</c> (e.g. <c>"NotFound"</c>), or null.</summary>
        public string GraphCode { get; private set; }

        /// <summary>Graph's <c>request-id</c> of the last response (header or <c>innerError</c>), or null. Quote it to Microsoft support.</summary>
        public string RequestId { get; private set; }

        /// <summary>The <c>client-request-id</c> the failing call sent, or null when it sent nothing.</summary>
        public string ClientRequestId { get; private set; }

        /// <summary>
        /// Builds the exception for <paramref name="result"/> from this thread's
        /// <c>teamsop_last_*</c> record. Call it on the thread of the failing call, before
        /// any other library call on that thread.
        /// </summary>
        internal static TeamsOpException FromLastError(Result result)
        {
            string message = Utf8.FromNative(NativeMethods.teamsop_last_error_message());
            int httpStatus = NativeMethods.teamsop_last_http_status();
            string graphCode = Utf8.FromNative(NativeMethods.teamsop_last_graph_code());
            string requestId = Utf8.FromNative(NativeMethods.teamsop_last_request_id());
            string clientRequestId = Utf8.FromNative(NativeMethods.teamsop_last_client_request_id());
            if (string.IsNullOrEmpty(message))
            {
                message = TeamsOpClient.ResultName(result);
            }
            // A token provider that threw on this thread during the call: the call
            // failed for want of a token, and the exception says why.
            Exception provider = ProviderFailure.Take();
            if (provider != null && result == Result.Unauthorized)
            {
                return new TeamsOpException(result, "the token provider threw: " + provider.Message, httpStatus,
                                            graphCode, requestId, clientRequestId, provider);
            }
            return new TeamsOpException(result, message, httpStatus, graphCode, requestId, clientRequestId);
        }

        /// <summary>Throws the exception for <paramref name="result"/> unless it is <see cref="TeamsOp.Result.Ok"/>.</summary>
        internal static void Check(Result result)
        {
            if (result != Result.Ok)
            {
                throw FromLastError(result);
            }
        }
    }

    /// <summary>
    /// Owns a <c>teamsop_client*</c>; released with <c>teamsop_client_free</c>, exactly
    /// once, when the last call using it has returned.
    /// </summary>
    internal sealed class ClientHandle : SafeHandle
    {
        // Called by the marshaller for a return value or an out parameter.
        public ClientHandle() : base(IntPtr.Zero, true) { }

        // The delegates handed to the native client (token providers, logs), kept
        // alive as long as this handle: a call under way on another thread may
        // still use one that was replaced.
        private readonly List<object> callbacks = new List<object>();

        /// <summary>Keeps <paramref name="callback"/> alive as long as this handle.</summary>
        internal void Keep(object callback)
        {
            lock (callbacks)
            {
                callbacks.Add(callback);
            }
        }

        /// <summary>True for NULL.</summary>
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <summary>Calls <c>teamsop_client_free</c>.</summary>
        protected override bool ReleaseHandle()
        {
            NativeMethods.teamsop_client_free(handle);
            return true;
        }
    }

    /// <summary>
    /// Owns a <c>teamsop_operation*</c>; released with <c>teamsop_free</c>, exactly
    /// once, when no read of it is in progress.
    /// </summary>
    internal sealed class OperationHandle : SafeHandle
    {
        // Called by the marshaller for a return value or an out parameter.
        public OperationHandle() : base(IntPtr.Zero, true) { }

        /// <summary>True for NULL.</summary>
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <summary>Calls <c>teamsop_free</c>.</summary>
        protected override bool ReleaseHandle()
        {
            NativeMethods.teamsop_free(handle);
            return true;
        }
    }

    /// <summary>
    /// Owns a <c>teamsop_cancel*</c>; released with <c>teamsop_cancel_free</c>, exactly
    /// once, when no call (a wait, a trigger) is using it.
    /// </summary>
    internal sealed class CancelHandle : SafeHandle
    {
        // Called by the marshaller for a return value.
        public CancelHandle() : base(IntPtr.Zero, true) { }

        /// <summary>True for NULL.</summary>
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <summary>Calls <c>teamsop_cancel_free</c>.</summary>
        protected override bool ReleaseHandle()
        {
            NativeMethods.teamsop_cancel_free(handle);
            return true;
        }
    }

    /// <summary>
    /// The exception a token provider threw on this thread, kept from the moment it is
    /// caught (in native code's callback) until the call that asked for the token
    /// returns and reads it.
    /// </summary>
    internal static class ProviderFailure
    {
        [ThreadStatic]
        private static Exception pending;

        internal static void Set(Exception e)
        {
            pending = e;
        }

        /// <summary>Forgets what an earlier call on this thread may have left.</summary>
        internal static void Clear()
        {
            pending = null;
        }

        internal static Exception Take()
        {
            Exception e = pending;
            pending = null;
            return e;
        }
    }

    /// <summary>
    /// The fields of one teamsAsyncOperation, as the library read them. The base of
    /// <see cref="TeamsOperation"/> (owned) and <see cref="TeamsOperationView"/>
    /// (borrowed during a wait's callback). Every property reads the native
    /// operation anew: keep a value in a local variable rather than reading a
    /// property (<see cref="Json"/> above all) in a loop. Strings are decoded from
    /// UTF-8; a field that is absent or JSON null reads as null.
    /// </summary>
    public abstract class TeamsOperationBase
    {
        internal TeamsOperationBase() { }

        /// <summary>Runs <paramref name="read"/> on the live native pointer, or throws <see cref="ObjectDisposedException"/>.</summary>
        internal abstract T Read<T>(Func<IntPtr, T> read);

        /// <summary><c>id</c>, or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string Id
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_id(p))); }
        }

        /// <summary><c>status</c> as an enum: <see cref="OperationStatus.Unrecognized"/> for a string this version does not know, <see cref="OperationStatus.Absent"/> when absent or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public OperationStatus Status
        {
            get { return Read(p => NativeMethods.teamsop_operation_status(p)); }
        }

        /// <summary><c>status</c> as sent (e.g. <c>"inProgress"</c>), or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string StatusText
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_status_str(p))); }
        }

        /// <summary><c>operationType</c> as an enum: <see cref="OperationType.Unrecognized"/> for a string this version does not know, <see cref="OperationType.Absent"/> when absent or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public OperationType Type
        {
            get { return Read(p => NativeMethods.teamsop_operation_type(p)); }
        }

        /// <summary><c>operationType</c> as sent (e.g. <c>"createChat"</c>), or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string TypeText
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_type_str(p))); }
        }

        /// <summary>
        /// <c>createdDateTime</c> as an instant (offset zero), to the millisecond (sub-millisecond
        /// digits truncated, offsets applied); null when absent, unparseable, or outside
        /// what <see cref="DateTimeOffset"/> can hold. The text as sent is <see cref="CreatedDateTimeText"/>.
        /// </summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public DateTimeOffset? CreatedDateTime
        {
            get { return FromUnixMs(Read(p => NativeMethods.teamsop_operation_created_unix_ms(p))); }
        }

        /// <summary><c>lastActionDateTime</c> as an instant, as <see cref="CreatedDateTime"/>. The text as sent is <see cref="LastActionDateTimeText"/>.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public DateTimeOffset? LastActionDateTime
        {
            get { return FromUnixMs(Read(p => NativeMethods.teamsop_operation_last_action_unix_ms(p))); }
        }

        /// <summary><c>createdDateTime</c> as sent (ISO 8601, e.g. <c>"2021-05-27T21:23:41.9085453Z"</c>), or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string CreatedDateTimeText
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_created_date_time(p))); }
        }

        /// <summary><c>lastActionDateTime</c> as sent (ISO 8601), or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string LastActionDateTimeText
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_last_action_date_time(p))); }
        }

        /// <summary><c>attemptsCount</c>, or null when absent or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public int? AttemptsCount
        {
            get
            {
                int count = Read(p => NativeMethods.teamsop_operation_attempts_count(p));
                return count < 0 ? (int?)null : count;
            }
        }

        /// <summary><c>targetResourceId</c> (a chat id or a team id), or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string TargetResourceId
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_target_resource_id(p))); }
        }

        /// <summary><c>targetResourceLocation</c> (an opaque relative path), or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string TargetResourceLocation
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_target_resource_location(p))); }
        }

        /// <summary>The <c>values</c> string as sent (itself a JSON document), or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string Values
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_values(p))); }
        }

        /// <summary><c>error.code</c>, or null when <c>error</c> is null or absent, or its code is.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string ErrorCode
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_error_code(p))); }
        }

        /// <summary><c>error.message</c>, or null when <c>error</c> is null or absent, or its message is.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string ErrorMessage
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_error_message(p))); }
        }

        /// <summary><c>@odata.context</c>, or null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string ODataContext
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_odata_context(p))); }
        }

        /// <summary>The whole response body as received (JSON), for fields not modelled; never null.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public string Json
        {
            get { return Read(p => Utf8.FromNative(NativeMethods.teamsop_operation_json(p))); }
        }

        /// <summary>True when the status is terminal: succeeded, failed or invalid.</summary>
        /// <exception cref="ObjectDisposedException">The operation was disposed (or the view's callback returned).</exception>
        public bool IsTerminal
        {
            get { return Read(p => NativeMethods.teamsop_operation_is_terminal(p)); }
        }

        private static readonly long MinUnixMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
        private static readonly long MaxUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

        private static DateTimeOffset? FromUnixMs(long unixMs)
        {
            // long.MinValue is TEAMSOP_NO_TIME; it is below MinUnixMs too.
            if (unixMs < MinUnixMs || unixMs > MaxUnixMs)
            {
                return null;
            }
            return DateTimeOffset.FromUnixTimeMilliseconds(unixMs);
        }
    }

    /// <summary>
    /// One teamsAsyncOperation as received, owned by the caller: dispose it (or let
    /// the finalizer free it). Immutable; any number of threads may read it at once,
    /// and a <see cref="Dispose"/> racing with reads frees the native operation only
    /// after they end. Independent of the client it came from (it outlives it).
    /// </summary>
    public sealed class TeamsOperation : TeamsOperationBase, IDisposable
    {
        private readonly OperationHandle handle;
        private volatile bool disposed;

        internal TeamsOperation(OperationHandle handle)
        {
            this.handle = handle;
        }

        internal override T Read<T>(Func<IntPtr, T> read)
        {
            if (disposed)
            {
                throw new ObjectDisposedException(typeof(TeamsOperation).Name);
            }
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added); // ObjectDisposedException once released
                return read(handle.DangerousGetHandle());
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }

        /// <summary>Frees the native operation (<c>teamsop_free</c>) once no read is in progress. Safe to call more than once; later reads throw <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose()
        {
            disposed = true;
            handle.Dispose();
        }
    }

    /// <summary>
    /// The operation received by one poll of <see cref="TeamsOpClient.Wait(string, TimeSpan, Func{TeamsOperationView, bool})"/>,
    /// given to its callback. Borrowed: valid only until the callback returns; after
    /// that every property throws <see cref="ObjectDisposedException"/>. Call
    /// <see cref="ToOperation"/> to keep a copy.
    /// </summary>
    public sealed class TeamsOperationView : TeamsOperationBase
    {
        private readonly object gate = new object();
        private IntPtr current;

        internal TeamsOperationView(IntPtr current)
        {
            this.current = current;
        }

        internal void Invalidate()
        {
            lock (gate)
            {
                current = IntPtr.Zero;
            }
        }

        internal override T Read<T>(Func<IntPtr, T> read)
        {
            lock (gate)
            {
                if (current == IntPtr.Zero)
                {
                    throw new ObjectDisposedException(typeof(TeamsOperationView).Name,
                        "a TeamsOperationView is valid only during the callback that received it");
                }
                return read(current);
            }
        }

        /// <summary>A copy of this operation that the caller owns (parsed again from <see cref="TeamsOperationBase.Json"/>); dispose it.</summary>
        /// <exception cref="ObjectDisposedException">The callback has returned.</exception>
        public TeamsOperation ToOperation()
        {
            return TeamsOpClient.Parse(Encoding.UTF8.GetBytes(Json));
        }
    }

    /// <summary>
    /// A Microsoft Graph client (<c>teamsop_client</c>): token, base URL, timeouts,
    /// retries and a connection pool. Any number of threads may use one client at
    /// once, setters included (a setter affects requests that start after it
    /// returns). Dispose it to close its connections; a <see cref="Dispose"/> while
    /// other threads are in calls frees the native client after those calls return,
    /// and later calls throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    /// <remarks>
    /// Errors: a null where a string is required throws <see cref="ArgumentNullException"/>
    /// (nothing is sent); a string holding U+0000 or a lone surrogate (which UTF-8 cannot
    /// carry) throws <see cref="ArgumentException"/>; a duration that is negative or above
    /// <see cref="uint.MaxValue"/> milliseconds throws <see cref="ArgumentOutOfRangeException"/>.
    /// Everything else (an empty id, a refused URL, a timeout of 0, ...) goes to the
    /// library, and every failure it reports throws <see cref="TeamsOpException"/>.
    /// </remarks>
    public sealed class TeamsOpClient : IDisposable
    {
        private readonly ClientHandle handle;
        private volatile bool disposed;

        /// <summary>Creates a client without a token: set one with <see cref="SetToken"/> before a GET. Does no I/O.</summary>
        /// <exception cref="TeamsOpException">The library refused (<see cref="Result.InvalidArgument"/>).</exception>
        public TeamsOpClient() : this(null) { }

        /// <summary>
        /// Creates a client. Defaults: global cloud, base URL <c>https://graph.microsoft.com/beta</c>,
        /// 30 s request timeout, 3 retries, 1 MiB body cap, 1 s first poll interval. Does no I/O.
        /// </summary>
        /// <param name="accessToken">The bearer token (copied), or null to set one later. It is sent only to the configured Graph host and never appears in any message.</param>
        /// <exception cref="ArgumentException">The token holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: an empty token, or one with characters an HTTP header cannot carry.</exception>
        /// <exception cref="DllNotFoundException">libteamsop could not be loaded; the message says where it was looked for.</exception>
        public TeamsOpClient(string accessToken)
        {
            byte[] token = accessToken == null ? null : Utf8.ToNative(accessToken, "accessToken");
            LibraryLoader.EnsureLoaded();
            ClientHandle created = NewHandle(token);
            if (created.IsInvalid)
            {
                TeamsOpException error = TeamsOpException.FromLastError(Result.InvalidArgument);
                created.Dispose();
                throw error;
            }
            handle = created;
        }

        // The first calls into the library are each in a method of their own, called
        // after LibraryLoader.EnsureLoaded: Mono looks a DllImport up when it compiles
        // the method that calls it, and remembers a failure (see LibraryLoader).
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static ClientHandle NewHandle(byte[] token)
        {
            return NativeMethods.teamsop_client_new(token);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static string VersionLoaded()
        {
            return Utf8.FromNative(NativeMethods.teamsop_version());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static string ResultNameLoaded(Result result)
        {
            return Utf8.FromNative(NativeMethods.teamsop_result_str(unchecked((uint)result)));
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static TeamsOperation ParseLoaded(byte[] buffer, int length)
        {
            OperationHandle result;
            Result r = NativeMethods.teamsop_parse(buffer, new UIntPtr((uint)length), out result);
            return Take(r, result);
        }

        /// <summary>The native library's version, <c>"MAJOR.MINOR.PATCH"</c>. Thread-safe.</summary>
        /// <exception cref="DllNotFoundException">libteamsop could not be loaded; the message says where it was looked for.</exception>
        public static string Version
        {
            get
            {
                LibraryLoader.EnsureLoaded();
                return VersionLoaded();
            }
        }

        /// <summary>The C name of a result, e.g. <c>"TEAMSOP_ERR_NOT_FOUND"</c>; <c>"TEAMSOP_ERR_UNKNOWN"</c> for a value that is not a result. Thread-safe.</summary>
        /// <param name="result">Any value.</param>
        /// <exception cref="DllNotFoundException">libteamsop could not be loaded; the message says where it was looked for.</exception>
        public static string ResultName(Result result)
        {
            LibraryLoader.EnsureLoaded();
            return ResultNameLoaded(result);
        }

        /// <summary>Sets the bearer token for requests that start after this call (copied), or clears it with null.</summary>
        /// <param name="accessToken">The token, or null to clear it (a GET without a token fails with <see cref="Result.InvalidArgument"/>).</param>
        /// <exception cref="ArgumentException">The token holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: an empty token, or one with characters an HTTP header cannot carry.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetToken(string accessToken)
        {
            byte[] token = accessToken == null ? null : Utf8.ToNative(accessToken, "accessToken");
            TeamsOpException.Check(NativeMethods.teamsop_client_set_token(Handle, token));
        }

        /// <summary>Targets a national cloud's beta endpoint (its root followed by <c>/beta</c>).</summary>
        /// <param name="cloud">The cloud.</param>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: not a <see cref="Cloud"/> value.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetCloud(Cloud cloud)
        {
            TeamsOpException.Check(NativeMethods.teamsop_client_set_cloud(Handle, unchecked((uint)cloud)));
        }

        /// <summary>
        /// Targets <paramref name="baseUrl"/>, e.g. <c>"https://graph.microsoft.us/beta"</c>: <c>https://</c>,
        /// or <c>http://</c> on a loopback host (127.0.0.0/8, [::1], localhost); no user info, query or fragment.
        /// </summary>
        /// <param name="baseUrl">The base URL (copied).</param>
        /// <exception cref="ArgumentNullException"><paramref name="baseUrl"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: a refused URL; the setting is unchanged.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetBaseUrl(string baseUrl)
        {
            byte[] url = Utf8.ToNative(baseUrl, "baseUrl");
            TeamsOpException.Check(NativeMethods.teamsop_client_set_base_url(Handle, url));
        }

        /// <summary>Bounds each whole GET (retries and their waits included). Rounded up to whole milliseconds.</summary>
        /// <param name="timeout">Above zero; <see cref="Timeout.InfiniteTimeSpan"/> means the longest the library takes (<see cref="uint.MaxValue"/> ms, about 49.7 days).</param>
        /// <exception cref="ArgumentOutOfRangeException">Negative (other than infinite), or above <see cref="uint.MaxValue"/> ms.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: zero.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetTimeout(TimeSpan timeout)
        {
            uint ms = Durations.ToMilliseconds(timeout, "timeout");
            TeamsOpException.Check(NativeMethods.teamsop_client_set_timeout_ms(Handle, ms));
        }

        /// <summary>How many times a GET answered 429, 503, 504, or reset before any response byte, is tried again (0 to 10; default 3).</summary>
        /// <param name="maxRetries">0 to 10.</param>
        /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: above 10.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetMaxRetries(int maxRetries)
        {
            if (maxRetries < 0)
            {
                throw new ArgumentOutOfRangeException("maxRetries", maxRetries, "must not be negative");
            }
            TeamsOpException.Check(NativeMethods.teamsop_client_set_max_retries(Handle, (uint)maxRetries));
        }

        /// <summary>Caps the size of a response body (default 1 MiB); a larger body fails with <see cref="Result.TooLarge"/>.</summary>
        /// <param name="maxBytes">Above zero.</param>
        /// <exception cref="ArgumentOutOfRangeException">Negative, or above what the platform's size_t holds.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: zero.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetMaxBodyBytes(long maxBytes)
        {
            if (maxBytes < 0 || (IntPtr.Size == 4 && maxBytes > uint.MaxValue))
            {
                throw new ArgumentOutOfRangeException("maxBytes", maxBytes, "must be 0 to the largest size_t");
            }
            TeamsOpException.Check(NativeMethods.teamsop_client_set_max_body_bytes(Handle, new UIntPtr((ulong)maxBytes)));
        }

        /// <summary>The first pause between two polls of <c>Wait</c> (default 1 s); pauses then double up to 10 s. Rounded up to whole milliseconds.</summary>
        /// <param name="firstInterval">Above zero.</param>
        /// <exception cref="ArgumentOutOfRangeException">Negative (other than infinite), or above <see cref="uint.MaxValue"/> ms.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: zero.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetPollInterval(TimeSpan firstInterval)
        {
            uint ms = Durations.ToMilliseconds(firstInterval, "firstInterval");
            TeamsOpException.Check(NativeMethods.teamsop_client_set_poll_interval_ms(Handle, ms));
        }

        /// <summary>Trusts the certificates of a PEM file as well as the system's roots. The file is read and checked now.</summary>
        /// <param name="pemPath">The PEM file's path.</param>
        /// <exception cref="ArgumentNullException"><paramref name="pemPath"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: missing, unreadable, or holding no certificate.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetCaFile(string pemPath)
        {
            byte[] path = Utf8.ToNative(pemPath, "pemPath");
            TeamsOpException.Check(NativeMethods.teamsop_client_set_ca_file(Handle, path));
        }

        /// <summary>Sets the OData <c>$select</c> sent with every GET, e.g. <c>"status,error"</c>; null or <c>""</c> clears it. Fields selected out read as absent.</summary>
        /// <param name="fields">Letters, digits, <c>,</c> <c>.</c> <c>_</c> <c>/</c> <c>@</c>; or null.</param>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: another character.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetSelect(string fields)
        {
            byte[] select = fields == null ? null : Utf8.ToNative(fields, "fields");
            TeamsOpException.Check(NativeMethods.teamsop_client_set_select(Handle, select));
        }

        /// <summary>
        /// <c>GET {base}/chats/{chatId}/operations/{operationId}</c>, each id percent-encoded as one
        /// path segment. Blocks until done or the client's timeout passes. Thread-safe.
        /// </summary>
        /// <param name="chatId">The chat id, e.g. <c>"19:...@thread.v2"</c>.</param>
        /// <param name="operationId">The operation id.</param>
        /// <returns>A new operation, owned by the caller: dispose it.</returns>
        /// <exception cref="ArgumentNullException">An id is null.</exception>
        /// <exception cref="ArgumentException">An id holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException">The library's result: <see cref="Result.InvalidArgument"/> (empty, <c>.</c> or <c>..</c> id, no token: nothing sent), or Transport, Timeout, Unauthorized, Forbidden, NotFound, Throttled, Http, Parse, TooLarge.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public TeamsOperation Get(string chatId, string operationId)
        {
            byte[] chat = Utf8.ToNative(chatId, "chatId");
            byte[] op = Utf8.ToNative(operationId, "operationId");
            OperationHandle result;
            ProviderFailure.Clear();
            Result r = NativeMethods.teamsop_get(Handle, chat, op, out result);
            return Take(r, result);
        }

        /// <summary><c>GET {base}/teams/{teamId}/operations/{operationId}</c>; as <see cref="Get"/> in every respect.</summary>
        /// <param name="teamId">The team id (a GUID).</param>
        /// <param name="operationId">The operation id.</param>
        /// <returns>A new operation, owned by the caller: dispose it.</returns>
        /// <exception cref="ArgumentNullException">An id is null.</exception>
        /// <exception cref="ArgumentException">An id holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException">As <see cref="Get"/>.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public TeamsOperation GetTeamOperation(string teamId, string operationId)
        {
            byte[] team = Utf8.ToNative(teamId, "teamId");
            byte[] op = Utf8.ToNative(operationId, "operationId");
            OperationHandle result;
            ProviderFailure.Clear();
            Result r = NativeMethods.teamsop_get_team_operation(Handle, team, op, out result);
            return Take(r, result);
        }

        /// <summary>
        /// GETs the operation named by a 202 response's <c>Location</c> header:
        /// <c>"/teams('ID')/operations('OP')"</c>, <c>"/chats('ID')/operations('OP')"</c>, the unquoted
        /// <c>"(ID)"</c> form, the <c>"/teams/ID/operations/OP"</c> form, any of them after a version
        /// segment, or an absolute URL with the client's own scheme, host and port.
        /// </summary>
        /// <param name="location">The Location header's value.</param>
        /// <returns>A new operation, owned by the caller: dispose it.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="location"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/> for any other form (nothing sent); otherwise as <see cref="Get"/>.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public TeamsOperation GetLocation(string location)
        {
            byte[] loc = Utf8.ToNative(location, "location");
            OperationHandle result;
            ProviderFailure.Clear();
            Result r = NativeMethods.teamsop_get_location(Handle, loc, out result);
            return Take(r, result);
        }

        /// <summary>
        /// Polls <paramref name="location"/> (any form <see cref="GetLocation"/> takes) until the
        /// status is terminal (succeeded, failed or invalid), and returns that operation whichever it is (read its
        /// <see cref="TeamsOperationBase.Status"/>). The first pause is the client's poll interval, then
        /// pauses double up to 10 s; a <c>Retry-After</c> wins. A 404 in the first 10 s is polled again.
        /// Blocks the calling thread.
        /// </summary>
        /// <param name="location">The Location header's value.</param>
        /// <param name="timeout">The deadline for the whole wait (rounded up to whole milliseconds); <see cref="Timeout.InfiniteTimeSpan"/> means <see cref="uint.MaxValue"/> ms.</param>
        /// <param name="onPoll">
        /// Null, or called on this thread with every operation received, the terminal one included.
        /// Its <see cref="TeamsOperationView"/> is valid only during the call. Return true to keep
        /// waiting, false to stop (<see cref="TeamsOpException"/> with <see cref="Result.Cancelled"/>).
        /// An exception it throws is caught before it reaches native code, stops the wait, and is
        /// rethrown (the same object, stack trace kept) by this method.
        /// </param>
        /// <returns>The terminal operation, owned by the caller: dispose it.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="location"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite) or above <see cref="uint.MaxValue"/> ms.</exception>
        /// <exception cref="TeamsOpException">
        /// <see cref="Result.Timeout"/> when the deadline passes, <see cref="Result.Cancelled"/> when
        /// <paramref name="onPoll"/> returned false, <see cref="Result.NotFound"/> when a 404 outlasts
        /// the first 10 s, <see cref="Result.InvalidArgument"/> for a refused location or a zero
        /// timeout, any other error of a GET as is.
        /// </exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public TeamsOperation Wait(string location, TimeSpan timeout, Func<TeamsOperationView, bool> onPoll = null)
        {
            return Wait(location, timeout, onPoll, CancellationToken.None);
        }

        /// <summary>
        /// As <see cref="Wait(string, TimeSpan, Func{TeamsOperationView, bool})"/>, and also stops,
        /// within 100 ms, when <paramref name="cancellationToken"/> is cancelled from any thread:
        /// in a GET, in a retry's pause or between polls (the token is registered to trigger a
        /// native <c>teamsop_cancel</c>). A token already cancelled sends nothing. A token
        /// provider being asked is not interrupted: the wait ends when it returns.
        /// </summary>
        /// <param name="location">The Location header's value.</param>
        /// <param name="timeout">The deadline for the whole wait.</param>
        /// <param name="onPoll">Null, or the callback, as in the other overload.</param>
        /// <param name="cancellationToken">Stops the wait when cancelled.</param>
        /// <returns>The terminal operation, owned by the caller: dispose it.</returns>
        /// <exception cref="OperationCanceledException">The token was cancelled (its <see cref="OperationCanceledException.CancellationToken"/> is <paramref name="cancellationToken"/>).</exception>
        /// <exception cref="ArgumentNullException"><paramref name="location"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is out of range.</exception>
        /// <exception cref="TeamsOpException">As in the other overload.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public TeamsOperation Wait(string location, TimeSpan timeout, Func<TeamsOperationView, bool> onPoll,
                                   CancellationToken cancellationToken)
        {
            byte[] loc = Utf8.ToNative(location, "location");
            uint ms = Durations.ToMilliseconds(timeout, "timeout");
            return WaitNative(loc, ms, onPoll, cancellationToken);
        }

        /// <summary>
        /// As <see cref="Wait(string, TimeSpan, Func{TeamsOperationView, bool}, CancellationToken)"/>
        /// without a callback.
        /// </summary>
        /// <param name="location">The Location header's value.</param>
        /// <param name="timeout">The deadline for the whole wait.</param>
        /// <param name="cancellationToken">Stops the wait when cancelled.</param>
        /// <returns>The terminal operation, owned by the caller: dispose it.</returns>
        /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
        /// <exception cref="ArgumentNullException"><paramref name="location"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is out of range.</exception>
        /// <exception cref="TeamsOpException">As in the other overloads.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public TeamsOperation Wait(string location, TimeSpan timeout, CancellationToken cancellationToken)
        {
            return Wait(location, timeout, null, cancellationToken);
        }

        /// <summary>
        /// <see cref="Wait(string, TimeSpan, Func{TeamsOperationView, bool}, CancellationToken)"/> on a
        /// thread-pool thread: the task completes with the terminal operation, faults with what
        /// <c>Wait</c> would throw, or is cancelled when <paramref name="cancellationToken"/> is
        /// (within 100 ms, wherever the wait is). <paramref name="onPoll"/>, if any, and the token
        /// provider run on that thread-pool thread. The arguments are checked before the task starts.
        /// </summary>
        /// <param name="location">The Location header's value.</param>
        /// <param name="timeout">The deadline for the whole wait.</param>
        /// <param name="onPoll">Null, or the callback, as in <c>Wait</c>.</param>
        /// <param name="cancellationToken">Cancels the wait.</param>
        /// <returns>The task of the wait; its operation is owned by the caller: dispose it.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="location"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is out of range.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public Task<TeamsOperation> WaitAsync(string location, TimeSpan timeout,
                                              Func<TeamsOperationView, bool> onPoll = null,
                                              CancellationToken cancellationToken = default(CancellationToken))
        {
            byte[] loc = Utf8.ToNative(location, "location");
            uint ms = Durations.ToMilliseconds(timeout, "timeout");
            ClientHandle unused = Handle;
            return Task.Run(() => WaitNative(loc, ms, onPoll, cancellationToken), cancellationToken);
        }

        private TeamsOperation WaitNative(byte[] loc, uint ms, Func<TeamsOperationView, bool> onPoll,
                                          CancellationToken cancellationToken)
        {
            ClientHandle h = Handle;
            cancellationToken.ThrowIfCancellationRequested();

            var state = new WaitState(onPoll);
            NativeMethods.PollFn trampoline = onPoll != null ? state.OnPoll : (NativeMethods.PollFn)null;
            OperationHandle result;
            Result r;
            TeamsOpException error;
            using (CancelHandle cancel = cancellationToken.CanBeCanceled ? NewCancel() : null)
            {
                // Disposed before the cancel handle: Dispose waits for a trigger running on
                // another thread, so none runs on a freed handle.
                using (cancellationToken.CanBeCanceled
                           ? cancellationToken.Register(() => NativeMethods.teamsop_cancel_trigger(cancel))
                           : default(CancellationTokenRegistration))
                {
                    ProviderFailure.Clear();
                    r = cancel != null
                        ? NativeMethods.teamsop_wait_cancellable(h, loc, ms, trampoline, IntPtr.Zero, cancel, out result)
                        : NativeMethods.teamsop_wait_cancellable(h, loc, ms, trampoline, IntPtr.Zero, IntPtr.Zero, out result);
                    // Read the per-thread record at once, before anything else can touch it.
                    error = r == Result.Ok ? null : TeamsOpException.FromLastError(r);
                }
            }
            // The native side may call the delegate until teamsop_wait_cancellable returns.
            GC.KeepAlive(trampoline);
            GC.KeepAlive(state);

            if (state.Thrown != null)
            {
                result.Dispose();
                state.Thrown.Throw();
            }
            if (r == Result.Cancelled && !state.StoppedByCallback && cancellationToken.IsCancellationRequested)
            {
                result.Dispose();
                throw new OperationCanceledException(cancellationToken);
            }
            if (error != null)
            {
                result.Dispose();
                throw error;
            }
            return new TeamsOperation(result);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static CancelHandle NewCancel()
        {
            CancelHandle cancel = NativeMethods.teamsop_cancel_new();
            if (cancel.IsInvalid)
            {
                cancel.Dispose();
                throw new OutOfMemoryException("teamsop_cancel_new: out of memory");
            }
            return cancel;
        }

        /// <summary>
        /// Sets the token provider: asked for a token on the thread of the call that needs one,
        /// before a request when the client has no token or the provider's last token expires
        /// within 5 minutes, and once after a 401 (the request is then sent once more). Its
        /// argument is the decoded claims challenge of that 401 (continuous access evaluation:
        /// a JSON object to hand to the identity platform, e.g. MSAL's <c>WithClaims</c>), or
        /// null. Never called twice at once for this client; it may call this client (a call it
        /// makes uses the token already set). A token set with <see cref="SetToken"/> is used
        /// until a 401 has it renewed. Null removes the provider; the last token it gave stays.
        /// </summary>
        /// <remarks>
        /// A token it gives that is null, empty, has a character outside visible ASCII or does
        /// not fit in 16383 bytes fails the call with <see cref="Result.Unauthorized"/> and a
        /// message saying so (never quoting it). An exception it throws never reaches native
        /// code: the call that asked fails with a <see cref="TeamsOpException"/>
        /// (<see cref="Result.Unauthorized"/>, message "the token provider threw: " and the
        /// exception's, the exception as <see cref="Exception.InnerException"/>); other calls
        /// waiting for that answer fail with <see cref="Result.Unauthorized"/> too. A renewal
        /// before expiry that fails while the token in hand still works does not fail the
        /// call. The delegate is kept alive by the client (replaced ones too, until it is
        /// disposed: calls under way may still use them).
        /// </remarks>
        /// <param name="provider">Claims (or null) in, token and expiry out; or null.</param>
        /// <exception cref="TeamsOpException">The library refused.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetTokenProvider(Func<string, TeamsOpToken> provider)
        {
            ClientHandle h = Handle;
            if (provider == null)
            {
                TeamsOpException.Check(NativeMethods.teamsop_client_set_token_provider(h, null, IntPtr.Zero));
                return;
            }
            NativeMethods.TokenFn fn = new TokenSource(provider).Provide;
            h.Keep(fn);
            TeamsOpException.Check(NativeMethods.teamsop_client_set_token_provider(h, fn, IntPtr.Zero));
        }

        /// <summary>
        /// Sends the client's log lines up to <paramref name="maxLevel"/> to <paramref name="sink"/>,
        /// instead of <c>TEAMSOP_LOG</c>'s stderr lines; null turns logging off (<c>TEAMSOP_LOG</c>
        /// included). Each line is one line without a newline and never holds the token. Called
        /// on the thread of the call a line describes; it may call into the library. An
        /// exception it throws is caught and dropped (a log line cannot fail a call). The
        /// delegate is kept alive by the client.
        /// </summary>
        /// <param name="maxLevel">The most detailed level sent.</param>
        /// <param name="sink">Level and line in; or null.</param>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: a level outside <see cref="TeamsOpLogLevel"/>; the setting is unchanged.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public void SetLog(TeamsOpLogLevel maxLevel, Action<TeamsOpLogLevel, string> sink)
        {
            ClientHandle h = Handle;
            uint level = unchecked((uint)maxLevel);
            if (sink == null)
            {
                TeamsOpException.Check(NativeMethods.teamsop_client_set_log(h, level, null, IntPtr.Zero));
                return;
            }
            NativeMethods.LogFn fn = new LogSink(sink).Line;
            h.Keep(fn);
            TeamsOpException.Check(NativeMethods.teamsop_client_set_log(h, level, fn, IntPtr.Zero));
        }

        /// <summary>Parses a teamsAsyncOperation JSON body already in hand (no network). Thread-safe.</summary>
        /// <param name="json">The body.</param>
        /// <returns>A new operation, owned by the caller: dispose it.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds a lone surrogate.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.Parse"/>: empty, not a JSON object, a known field of the wrong type, or a string field holding U+0000.</exception>
        public static TeamsOperation Parse(string json)
        {
            if (json == null)
            {
                throw new ArgumentNullException("json");
            }
            return Parse(Utf8.Encode(json, "json"));
        }

        /// <summary>Parses a teamsAsyncOperation JSON body (UTF-8 bytes, no NUL needed) already in hand (no network). Thread-safe.</summary>
        /// <param name="json">The body's bytes.</param>
        /// <returns>A new operation, owned by the caller: dispose it.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.Parse"/>: empty, not UTF-8, not a JSON object, a known field of the wrong type, or a string field holding U+0000.</exception>
        public static TeamsOperation Parse(byte[] json)
        {
            if (json == null)
            {
                throw new ArgumentNullException("json");
            }
            // An empty array may reach C as NULL, which is another error: pass a real
            // buffer with a length of 0.
            byte[] buffer = json.Length == 0 ? new byte[1] : json;
            LibraryLoader.EnsureLoaded();
            return ParseLoaded(buffer, json.Length);
        }

        /// <summary>Frees the native client (<c>teamsop_client_free</c>) once no call is using it; operations obtained from it stay valid. Safe to call more than once; later calls throw <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose()
        {
            disposed = true;
            handle.Dispose();
        }

        internal ClientHandle Handle
        {
            get
            {
                if (disposed || handle.IsClosed)
                {
                    throw new ObjectDisposedException(typeof(TeamsOpClient).Name);
                }
                return handle;
            }
        }

        /// <summary>The operation of a successful call, or the exception of a failed one (read at once, on this thread).</summary>
        private static TeamsOperation Take(Result r, OperationHandle result)
        {
            if (r != Result.Ok)
            {
                TeamsOpException error = TeamsOpException.FromLastError(r);
                result.Dispose();
                throw error;
            }
            if (result.IsInvalid)
            {
                result.Dispose();
                throw new TeamsOpException(Result.Internal, "the library returned TEAMSOP_OK without an operation", 0, null, null, null);
            }
            return new TeamsOperation(result);
        }

        /// <summary>The state of one Wait: the user's callback, and what it threw.</summary>
        private sealed class WaitState
        {
            private readonly Func<TeamsOperationView, bool> onPoll;

            internal WaitState(Func<TeamsOperationView, bool> onPoll)
            {
                this.onPoll = onPoll;
            }

            internal ExceptionDispatchInfo Thrown;
            internal bool StoppedByCallback;

            /// <summary>The teamsop_poll_fn: never lets an exception out.</summary>
            internal bool OnPoll(IntPtr current, IntPtr userData)
            {
                TeamsOperationView view = null;
                try
                {
                    if (Thrown != null || StoppedByCallback)
                    {
                        return false;
                    }
                    view = new TeamsOperationView(current);
                    if (!onPoll(view))
                    {
                        StoppedByCallback = true;
                        return false;
                    }
                    return true;
                }
                catch (Exception e)
                {
                    Thrown = ExceptionDispatchInfo.Capture(e);
                    return false;
                }
                finally
                {
                    if (view != null)
                    {
                        view.Invalidate();
                    }
                }
            }
        }

        /// <summary>A token provider delegate as a <c>teamsop_token_fn</c>.</summary>
        private sealed class TokenSource
        {
            private readonly Func<string, TeamsOpToken> provider;

            internal TokenSource(Func<string, TeamsOpToken> provider)
            {
                this.provider = provider;
            }

            /// <summary>
            /// The teamsop_token_fn: never lets an exception out. A token that does not fit is
            /// handed over without its NUL, a U+0000 in one as DEL, and a lone surrogate as
            /// U+FFFD, so that the library refuses it with its own message.
            /// </summary>
            internal bool Provide(IntPtr userData, IntPtr claims, IntPtr buf, UIntPtr bufLen, IntPtr expiresUnixMs)
            {
                byte[] bytes = null;
                try
                {
                    TeamsOpToken token = provider(Utf8.FromNative(claims));
                    if (token == null || token.AccessToken == null)
                    {
                        throw new InvalidOperationException("the token provider returned no token (null)");
                    }
                    bytes = Encoding.UTF8.GetBytes(token.AccessToken);
                    long room = (long)Math.Min(bufLen.ToUInt64(), (ulong)int.MaxValue);
                    int n = (int)Math.Min(bytes.Length, room);
                    for (int i = 0; i < n; i++)
                    {
                        if (bytes[i] == 0)
                        {
                            bytes[i] = 0x7f;
                        }
                    }
                    Marshal.Copy(bytes, 0, buf, n);
                    if (n < room)
                    {
                        Marshal.WriteByte(buf, n, 0);
                    }
                    long expires = token.ExpiresOn.HasValue ? token.ExpiresOn.Value.ToUnixTimeMilliseconds() : long.MinValue;
                    Marshal.WriteInt64(expiresUnixMs, expires);
                    return true;
                }
                catch (Exception e)
                {
                    ProviderFailure.Set(e);
                    return false;
                }
                finally
                {
                    if (bytes != null)
                    {
                        Array.Clear(bytes, 0, bytes.Length);
                    }
                }
            }
        }

        /// <summary>A log delegate as a <c>teamsop_log_fn</c>.</summary>
        private sealed class LogSink
        {
            private readonly Action<TeamsOpLogLevel, string> sink;

            internal LogSink(Action<TeamsOpLogLevel, string> sink)
            {
                this.sink = sink;
            }

            /// <summary>The teamsop_log_fn: what the delegate throws is dropped.</summary>
            internal void Line(IntPtr userData, uint level, IntPtr line)
            {
                try
                {
                    sink((TeamsOpLogLevel)level, Utf8.FromNative(line) ?? string.Empty);
                }
                catch (Exception)
                {
                    // A log line cannot fail a call.
                }
            }
        }
    }

    /// <summary>Converting TimeSpans to the library's uint32_t milliseconds.</summary>
    internal static class Durations
    {
        internal static uint ToMilliseconds(TimeSpan value, string paramName)
        {
            if (value == Timeout.InfiniteTimeSpan)
            {
                return uint.MaxValue;
            }
            if (value < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(paramName, value, "must not be negative");
            }
            long ticks = value.Ticks;
            long ms = ticks / TimeSpan.TicksPerMillisecond;
            if (ticks % TimeSpan.TicksPerMillisecond != 0)
            {
                ms++;
            }
            if (ms > uint.MaxValue)
            {
                throw new ArgumentOutOfRangeException(paramName, value, "must be at most 4294967295 ms");
            }
            return (uint)ms;
        }
    }

    /// <summary>UTF-8 in both directions, without CharSet.Ansi.</summary>
    internal static class Utf8
    {
        // Throws on a lone surrogate instead of sending U+FFFD silently.
        private static readonly Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>The UTF-8 bytes of <paramref name="text"/>, no terminator.</summary>
        internal static byte[] Encode(string text, string paramName)
        {
            try
            {
                return Strict.GetBytes(text);
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException("the string holds a lone surrogate, which UTF-8 cannot carry", paramName, e);
            }
        }

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/> for a <c>const char*</c>.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 (C would see a shorter string) or a lone surrogate.</exception>
        internal static byte[] ToNative(string text, string paramName)
        {
            if (text == null)
            {
                throw new ArgumentNullException(paramName);
            }
            if (text.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("the string holds U+0000, which a C string cannot carry", paramName);
            }
            byte[] encoded = Encode(text, paramName);
            byte[] terminated = new byte[encoded.Length + 1];
            Buffer.BlockCopy(encoded, 0, terminated, 0, encoded.Length);
            return terminated;
        }

        /// <summary>The string at <paramref name="p"/> (NUL-terminated UTF-8), or null for NULL.</summary>
        internal static string FromNative(IntPtr p)
        {
            if (p == IntPtr.Zero)
            {
                return null;
            }
#if NETCOREAPP || NETSTANDARD2_1_OR_GREATER
            return Marshal.PtrToStringUTF8(p);
#else
            // .NET Framework has no PtrToStringUTF8: find the NUL, copy, decode.
            int length = 0;
            while (Marshal.ReadByte(p, length) != 0)
            {
                length++;
            }
            if (length == 0)
            {
                return string.Empty;
            }
            byte[] bytes = new byte[length];
            Marshal.Copy(p, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
#endif
        }
    }

    /// <summary>
    /// Loads libteamsop before the first call into it, or says in one sentence why it
    /// could not. Every public entry point into native code (the client's
    /// constructor, <see cref="TeamsOpClient.Version"/>, <see cref="TeamsOpClient.ResultName"/>,
    /// <see cref="TeamsOpClient.Parse(byte[])"/>) calls <see cref="EnsureLoaded"/> first;
    /// every other native call needs an object that only exists once it has succeeded.
    /// </summary>
    /// <remarks>
    /// On Mono and .NET Framework on Linux, the runtime looks for the name the dllmap
    /// gives (<c>libteamsop.so.0</c>, in TeamsOp.dll.config) or else
    /// <c>libteamsop.so</c>, next to the assembly and then through dlopen; but a build
    /// tree has only <c>libteamsop.so</c>, and an installed runtime package only
    /// <c>libteamsop.so.0</c>. So on Linux (glibc), this dlopens, through libdl,
    /// whichever of the two sits next to TeamsOp.dll or the application, or else
    /// whichever the dynamic loader finds (LD_LIBRARY_PATH, the ldconfig cache):
    /// glibc then answers the runtime's own dlopen of either name with the library
    /// already loaded (by path, or by its SONAME <c>libteamsop.so.0</c>). Then it
    /// asks the runtime to look the library up its own way (a dllmap of the
    /// application's may know better), which is all it does elsewhere and on .NET 6+.
    /// Mono looks a DllImport up when it compiles the method that calls it and
    /// remembers a failure: the first native calls are therefore made from methods
    /// of their own, compiled after this has run. A failure of the dlopen probes is
    /// not remembered (a later call looks again); one of the runtime's is, by Mono.
    /// </remarks>
    internal static class LibraryLoader
    {
        private const string SoName = "libteamsop.so.0";
        private const string DevName = "libteamsop.so";
        private const int RtldNow = 2;
        private static readonly object Gate = new object();
        private static volatile bool loaded;

        /// <summary>Returns once libteamsop is loaded; throws DllNotFoundException otherwise. Thread-safe.</summary>
        internal static void EnsureLoaded()
        {
            if (loaded)
            {
                return;
            }
            lock (Gate)
            {
                if (loaded)
                {
                    return;
                }
                string[] directories = Directories();
                string preloaded = null, failedFile = null, failedWhy = null;
#if !NETCOREAPP
                preloaded = Preload(directories, out failedFile, out failedWhy);
#endif
                // The runtime's own lookup, which now finds what was preloaded.
                try
                {
                    CallVersion();
                }
                catch (DllNotFoundException e)
                {
                    throw new DllNotFoundException(preloaded != null
                        ? "libteamsop is loaded from " + preloaded + ", but the runtime looks for it under another " +
                          "name (DllImport \"teamsop\" is libteamsop.so, or what a dllmap says): keep TeamsOp.dll.config " +
                          "(teamsop to libteamsop.so.0) next to TeamsOp.dll, or provide libteamsop.so"
                        : NotFoundMessage(directories, failedFile, failedWhy), e);
                }
                catch (EntryPointNotFoundException e)
                {
                    throw new DllNotFoundException(
                        "the library loaded as libteamsop has no teamsop_version, so it is not libteamsop; " +
                        "put libteamsop.so from this build next to the application", e);
                }
                loaded = true;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void CallVersion()
        {
            NativeMethods.teamsop_version();
        }

        /// <summary>Where the library may sit: next to TeamsOp.dll, and next to the application.</summary>
        private static string[] Directories()
        {
            string own = null, app = null;
            try
            {
                string location = typeof(LibraryLoader).Assembly.Location;
                own = string.IsNullOrEmpty(location) ? null : Path.GetDirectoryName(location);
            }
            catch (NotSupportedException)
            {
                // A dynamic assembly has no location.
            }
            string baseDirectory = AppDomain.CurrentDomain.BaseDirectory;
            if (!string.IsNullOrEmpty(baseDirectory))
            {
                app = baseDirectory.TrimEnd(Path.DirectorySeparatorChar);
            }
            if (own == null)
            {
                return app == null ? new string[0] : new[] { app };
            }
            return app == null || app == own ? new[] { own } : new[] { own, app };
        }

        private static string NotFoundMessage(string[] directories, string failedFile, string failedWhy)
        {
            string where = directories.Length == 0 ? "" : "in " + string.Join(" and ", directories) + " and ";
            string sentence = "libteamsop was not found: looked for " + SoName + " and " + DevName + " " + where +
                "through the dynamic loader (LD_LIBRARY_PATH, the ldconfig cache)";
            if (failedFile != null)
            {
                sentence += ", and " + failedFile + " is there but could not be loaded (" + failedWhy + ")";
            }
            return sentence + "; copy libteamsop.so next to the application, or set LD_LIBRARY_PATH to the directory that holds it";
        }

#if !NETCOREAPP
        /// <summary>
        /// On Linux (glibc): dlopens libteamsop.so.0 or libteamsop.so from `directories`,
        /// else by name through the dynamic loader. Returns the path or name loaded, or
        /// null. A file that is there but does not load is reported in failedFile and
        /// failedWhy.
        /// </summary>
        private static string Preload(string[] directories, out string failedFile, out string failedWhy)
        {
            failedFile = null;
            failedWhy = null;
            if (Environment.OSVersion.Platform != PlatformID.Unix || !File.Exists("/proc/self/maps"))
            {
                return null; // not Linux: the runtime's own search is all there is
            }
            try
            {
                foreach (string directory in directories)
                {
                    foreach (string name in new[] { SoName, DevName })
                    {
                        string path = Path.Combine(directory, name);
                        if (!File.Exists(path))
                        {
                            continue;
                        }
                        // Never closed: the library stays loaded for the life of the process.
                        if (Dl.Open(path) != IntPtr.Zero)
                        {
                            return path;
                        }
                        if (failedFile == null)
                        {
                            failedFile = path;
                            failedWhy = Dl.Error();
                        }
                    }
                }
                foreach (string name in new[] { SoName, DevName })
                {
                    if (Dl.Open(name) != IntPtr.Zero)
                    {
                        return name;
                    }
                }
                return null;
            }
            catch (DllNotFoundException)
            {
                return null; // no libdl.so.2 (not glibc): leave it to the runtime
            }
            catch (EntryPointNotFoundException)
            {
                return null;
            }
        }

        /// <summary>glibc's dlopen (libdl.so.2 exists on every glibc, 2.34 and later included).</summary>
        private static class Dl
        {
            [DllImport("libdl.so.2", CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
            private static extern IntPtr dlopen(byte[] file, int mode);

            [DllImport("libdl.so.2", CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
            private static extern IntPtr dlerror();

            internal static IntPtr Open(string file)
            {
                return dlopen(Utf8.ToNative(file, "file"), RtldNow);
            }

            internal static string Error()
            {
                return Utf8.FromNative(dlerror()) ?? "dlopen failed";
            }
        }
#endif
    }

    /// <summary>The C functions of include/teamsop.h, one for one.</summary>
    internal static class NativeMethods
    {
        private const string Lib = "teamsop";
        private const CallingConvention Cdecl = CallingConvention.Cdecl;

        /// <summary><c>teamsop_poll_fn</c>.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        [return: MarshalAs(UnmanagedType.I1)]
        internal delegate bool PollFn(IntPtr current, IntPtr userData);

        /// <summary><c>teamsop_token_fn</c>.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        [return: MarshalAs(UnmanagedType.I1)]
        internal delegate bool TokenFn(IntPtr userData, IntPtr claims, IntPtr buf, UIntPtr bufLen, IntPtr expiresUnixMs);

        /// <summary><c>teamsop_log_fn</c>.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LogFn(IntPtr userData, uint level, IntPtr line);

        // Client
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern ClientHandle teamsop_client_new(byte[] accessToken);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern void teamsop_client_free(IntPtr client);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_token(ClientHandle client, byte[] accessToken);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_cloud(ClientHandle client, uint cloud);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_base_url(ClientHandle client, byte[] baseUrl);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_timeout_ms(ClientHandle client, uint timeoutMs);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_max_retries(ClientHandle client, uint maxRetries);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_max_body_bytes(ClientHandle client, UIntPtr maxBytes);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_poll_interval_ms(ClientHandle client, uint firstIntervalMs);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_ca_file(ClientHandle client, byte[] pemPath);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_select(ClientHandle client, byte[] fields);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_token_provider(ClientHandle client, TokenFn fn, IntPtr userData);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_client_set_log(ClientHandle client, uint maxLevel, LogFn fn, IntPtr userData);

        // Cancelling
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern CancelHandle teamsop_cancel_new();
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern void teamsop_cancel_trigger(CancelHandle cancel);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        [return: MarshalAs(UnmanagedType.I1)]
        internal static extern bool teamsop_cancel_is_triggered(CancelHandle cancel);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern void teamsop_cancel_free(IntPtr cancel);

        // Fetching
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_get(ClientHandle client, byte[] chatId, byte[] operationId,
                                                  out OperationHandle result);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_get_team_operation(ClientHandle client, byte[] teamId, byte[] operationId,
                                                                 out OperationHandle result);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_get_location(ClientHandle client, byte[] location,
                                                           out OperationHandle result);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_wait(ClientHandle client, byte[] location, uint timeoutMs,
                                                   PollFn onPoll, IntPtr userData, out OperationHandle result);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_wait_cancellable(ClientHandle client, byte[] location, uint timeoutMs,
                                                               PollFn onPoll, IntPtr userData, CancelHandle cancel,
                                                               out OperationHandle result);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_wait_cancellable(ClientHandle client, byte[] location, uint timeoutMs,
                                                               PollFn onPoll, IntPtr userData, IntPtr noCancel,
                                                               out OperationHandle result);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_parse(byte[] json, UIntPtr len, out OperationHandle result);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern void teamsop_free(IntPtr operation);

        // Why the last call failed (per thread)
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_last_error_message();
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern int teamsop_last_http_status();
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_last_graph_code();
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_last_request_id();
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_last_client_request_id();

        // Library
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_version();
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_result_str(uint result);

        // Reading an operation (all take a live, borrowed pointer)
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_id(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern OperationStatus teamsop_operation_status(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_status_str(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern OperationType teamsop_operation_type(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_type_str(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_created_date_time(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_last_action_date_time(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern long teamsop_operation_created_unix_ms(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern long teamsop_operation_last_action_unix_ms(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern int teamsop_operation_attempts_count(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_target_resource_id(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_target_resource_location(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_values(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_error_code(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_error_message(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_odata_context(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_operation_json(IntPtr op);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        [return: MarshalAs(UnmanagedType.I1)]
        internal static extern bool teamsop_operation_is_terminal(IntPtr op);
    }
    // ------------------------------------------------------------ many operations at once

    /// <summary>
    /// How one operation of a <see cref="TeamsOpBatch"/> ended, as
    /// <see cref="TeamsOpBatch.RunReports"/> yields it: its tag, and its terminal operation
    /// (owned by this report: dispose the report) or the error that ended it.
    /// </summary>
    public sealed class TeamsOpBatchReport : IDisposable
    {
        internal TeamsOpBatchReport(ulong tag, TeamsOperation operation, TeamsOpException error)
        {
            Tag = tag;
            Operation = operation;
            Error = error;
        }

        /// <summary>The tag given to <see cref="TeamsOpBatch.Add"/>.</summary>
        public ulong Tag { get; private set; }

        /// <summary>The terminal operation (succeeded, failed or invalid: read its <see cref="TeamsOperationBase.Status"/>), or null when <see cref="Error"/> ended it.</summary>
        public TeamsOperation Operation { get; private set; }

        /// <summary>The error that ended the operation (<see cref="Result.NotFound"/> after the 10 s grace, <see cref="Result.Forbidden"/>, <see cref="Result.Parse"/>, ...), or null.</summary>
        public TeamsOpException Error { get; private set; }

        /// <summary>Frees <see cref="Operation"/>, if any. Safe to call more than once.</summary>
        public void Dispose()
        {
            if (Operation != null)
            {
                Operation.Dispose();
            }
        }
    }

    /// <summary>
    /// Owns a <c>teamsop_batch*</c> and a reference on the native client it borrows:
    /// released with <c>teamsop_batch_free</c>, exactly once, when no call is using it,
    /// and only then lets the client go (so a client disposed first is freed after).
    /// </summary>
    internal sealed class BatchHandle : SafeHandle
    {
        private ClientHandle client;

        // Called by the marshaller for a return value.
        public BatchHandle() : base(IntPtr.Zero, true) { }

        /// <summary>True for NULL.</summary>
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <summary>Keeps <paramref name="owner"/>'s native client alive until this batch is freed.</summary>
        internal void Borrow(ClientHandle owner)
        {
            bool added = false;
            owner.DangerousAddRef(ref added);
            if (added)
            {
                client = owner;
            }
        }

        /// <summary>Calls <c>teamsop_batch_free</c>, then releases the client.</summary>
        protected override bool ReleaseHandle()
        {
            BatchNativeMethods.teamsop_batch_free(handle);
            if (client != null)
            {
                client.DangerousRelease();
            }
            return true;
        }
    }

    /// <summary>
    /// Many operations followed at once (<c>teamsop_batch</c>), under a budget of GETs per
    /// second, over Graph JSON batching: add the Locations of 202 answers, then
    /// <see cref="Run"/> (a callback per operation as it ends) or <see cref="RunReports"/>
    /// (a sequence of reports). Holds its <see cref="TeamsOpClient"/>: the native client
    /// is freed only after the batch, whatever is disposed first.
    /// </summary>
    /// <remarks>
    /// One thread at a time: a call from another thread while one is under way (a
    /// <see cref="Run"/> above all) throws <see cref="InvalidOperationException"/>; several
    /// batches, on several threads, may share one client. From inside its own callback, a
    /// call that would change or run this batch throws <see cref="TeamsOpException"/>
    /// (<see cref="Result.InvalidArgument"/>), as the library refuses it.
    /// </remarks>
    public sealed class TeamsOpBatch : IDisposable
    {
        private readonly TeamsOpClient client;
        private readonly BatchHandle handle;
        private volatile bool disposed;
        private int owner; // the managed thread id of the call under way, 0 for none
        private int maxGetsPerSecond = 10;
        private bool jsonBatching = true;

        /// <summary>Creates an empty batch polling through <paramref name="client"/> (its settings as they are when each run starts).</summary>
        /// <param name="client">The client; held by the batch.</param>
        /// <exception cref="ArgumentNullException"><paramref name="client"/> is null.</exception>
        /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
        public TeamsOpBatch(TeamsOpClient client)
        {
            if (client == null)
            {
                throw new ArgumentNullException("client");
            }
            ClientHandle native = client.Handle;
            BatchHandle created = BatchNativeMethods.teamsop_batch_new(native);
            if (created.IsInvalid)
            {
                TeamsOpException error = TeamsOpException.FromLastError(Result.InvalidArgument);
                created.Dispose();
                throw error;
            }
            created.Borrow(native);
            this.client = client;
            handle = created;
        }

        /// <summary>The client this batch polls through.</summary>
        public TeamsOpClient Client { get { return client; } }

        /// <summary>
        /// Adds the operation named by a 202's <c>Location</c> (read as
        /// <see cref="TeamsOpClient.GetLocation"/> reads it); <paramref name="tag"/> is handed back when it ends.
        /// </summary>
        /// <param name="location">The Location header's value.</param>
        /// <param name="tag">Anything of the caller's, e.g. an index into its own list.</param>
        /// <exception cref="ArgumentNullException"><paramref name="location"/> is null.</exception>
        /// <exception cref="ArgumentException">It holds U+0000 or a lone surrogate.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/>: a Location the library refuses (nothing is added), or a call from this batch's own callback.</exception>
        /// <exception cref="InvalidOperationException">Another thread is using this batch.</exception>
        /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
        public void Add(string location, ulong tag)
        {
            byte[] loc = Utf8.ToNative(location, "location");
            bool entered = Enter();
            try
            {
                TeamsOpException.Check(BatchNativeMethods.teamsop_batch_add(Handle, loc, tag));
            }
            finally
            {
                Leave(entered);
            }
        }

        /// <summary>Operations added and not yet reported.</summary>
        /// <exception cref="InvalidOperationException">Another thread is using this batch.</exception>
        /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
        public long Pending
        {
            get
            {
                bool entered = Enter();
                try
                {
                    return (long)BatchNativeMethods.teamsop_batch_pending(Handle).ToUInt64();
                }
                finally
                {
                    Leave(entered);
                }
            }
        }

        /// <summary>
        /// The most operation GETs started in any sliding second, each request inside a
        /// <c>$batch</c> counted on its own: 1 to 1000 (default 10; Teams allows an app about
        /// 30 per tenant). A 429 halves the rate used, which then climbs back, never above this.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">A negative value.</exception>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/> for 0 or above 1000 (the setting is unchanged).</exception>
        /// <exception cref="InvalidOperationException">Another thread is using this batch.</exception>
        /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
        public int MaxGetsPerSecond
        {
            get { return maxGetsPerSecond; }
            set
            {
                if (value < 0)
                {
                    throw new ArgumentOutOfRangeException("value", value, "must not be negative");
                }
                bool entered = Enter();
                try
                {
                    TeamsOpException.Check(BatchNativeMethods.teamsop_batch_set_max_gets_per_second(Handle, (uint)value));
                    maxGetsPerSecond = value;
                }
                finally
                {
                    Leave(entered);
                }
            }
        }

        /// <summary>
        /// The GETs per second the batch allows itself now: <see cref="MaxGetsPerSecond"/>, or less
        /// after a 429 (halved, then climbing back while none comes). May be read from the run's
        /// own callback.
        /// </summary>
        /// <exception cref="InvalidOperationException">Another thread is using this batch.</exception>
        /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
        public int CurrentGetsPerSecond
        {
            get
            {
                bool entered = Enter();
                try
                {
                    return (int)BatchNativeMethods.teamsop_batch_current_gets_per_second(Handle);
                }
                finally
                {
                    Leave(entered);
                }
            }
        }

        /// <summary>Whether GETs travel in Graph JSON batches (default true) or one by one.</summary>
        /// <exception cref="TeamsOpException"><see cref="Result.InvalidArgument"/> from this batch's own callback.</exception>
        /// <exception cref="InvalidOperationException">Another thread is using this batch.</exception>
        /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
        public bool JsonBatching
        {
            get { return jsonBatching; }
            set
            {
                bool entered = Enter();
                try
                {
                    TeamsOpException.Check(BatchNativeMethods.teamsop_batch_set_json_batching(Handle, value));
                    jsonBatching = value;
                }
                finally
                {
                    Leave(entered);
                }
            }
        }

        /// <summary>
        /// Polls every pending operation until each has been reported to
        /// <paramref name="onDone"/>, once, as it ends: each is polled at once, then paced as
        /// <see cref="TeamsOpClient.Wait(string, TimeSpan, Func{TeamsOperationView, bool})"/>
        /// paces one, the soonest due first, never more GETs per second than
        /// <see cref="MaxGetsPerSecond"/>; a 429 pauses every GET and lowers the rate.
        /// </summary>
        /// <param name="timeout">The deadline of this run; the operations not reported by then stay pending (run again to go on).</param>
        /// <param name="onDone">
        /// Called on this thread for each operation as it ends, with its tag and either its
        /// terminal operation (borrowed: valid during the call only, <see cref="TeamsOperationView.ToOperation"/>
        /// keeps a copy) or the error that ended it (the other argument is null). Return true
        /// to go on, false to stop the run (<see cref="Result.Cancelled"/>; that operation
        /// counts as reported). Null: the operations are followed to their end and forgotten.
        /// An exception it throws is caught before it reaches native code, stops the run (that
        /// operation counts as reported), and is rethrown (the same object) by this method.
        /// </param>
        /// <param name="cancellationToken">Ends the run within 100 ms of its cancellation, wherever it is (in a request, in a pause).</param>
        /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative or above <see cref="uint.MaxValue"/> ms.</exception>
        /// <exception cref="TeamsOpException">
        /// <see cref="Result.Timeout"/> when the deadline passed, <see cref="Result.Cancelled"/> when
        /// <paramref name="onDone"/> returned false, the error of a <c>$batch</c> that kept failing
        /// (<see cref="Result.Transport"/>, <see cref="Result.Http"/>, <see cref="Result.Throttled"/>, ...),
        /// <see cref="Result.InvalidArgument"/> for a zero timeout or a call from this batch's own
        /// callback. The operations not reported stay pending.
        /// </exception>
        /// <exception cref="InvalidOperationException">Another thread is using this batch.</exception>
        /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
        public void Run(TimeSpan timeout, Func<ulong, TeamsOperationView, TeamsOpException, bool> onDone,
                        CancellationToken cancellationToken = default(CancellationToken))
        {
            uint ms = Durations.ToMilliseconds(timeout, "timeout");
            bool entered = Enter();
            try
            {
                RunNative(ms, onDone, cancellationToken);
            }
            finally
            {
                Leave(entered);
            }
        }

        /// <summary>
        /// As <see cref="Run"/>, as a sequence: the reports come as the operations end, while
        /// the run goes on on a thread of its own (the batch is in use by it meanwhile). Each
        /// report owns its operation: dispose it. When the sequence ends early (a
        /// <c>break</c>, an exception in the loop), the run is stopped and the operations not
        /// reported stay pending. After the last report, a run that did not end every
        /// operation throws as <see cref="Run"/> does (<see cref="Result.Timeout"/>, ...).
        /// </summary>
        /// <param name="timeout">The deadline of the run.</param>
        /// <param name="cancellationToken">Ends the run (then <see cref="OperationCanceledException"/>).</param>
        /// <returns>The reports, in the order the operations ended.</returns>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative or above <see cref="uint.MaxValue"/> ms (at once).</exception>
        /// <exception cref="ObjectDisposedException">The batch was disposed (at once).</exception>
        public System.Collections.Generic.IEnumerable<TeamsOpBatchReport> RunReports(
            TimeSpan timeout, CancellationToken cancellationToken = default(CancellationToken))
        {
            uint ms = Durations.ToMilliseconds(timeout, "timeout");
            if (disposed)
            {
                throw new ObjectDisposedException(typeof(TeamsOpBatch).Name);
            }
            return Reports(ms, cancellationToken);
        }

        /// <summary>Frees the native batch (and its pending operations, not reported) once no call is using it, then lets the client go. Safe to call more than once; later calls throw <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose()
        {
            disposed = true;
            handle.Dispose();
        }

        private BatchHandle Handle
        {
            get
            {
                if (disposed || handle.IsClosed)
                {
                    throw new ObjectDisposedException(typeof(TeamsOpBatch).Name);
                }
                return handle;
            }
        }

        /// <summary>Marks this thread as the user; false when it already was (a call from the callback, which the library itself refuses or allows).</summary>
        private bool Enter()
        {
            int me = Thread.CurrentThread.ManagedThreadId;
            int was = Interlocked.CompareExchange(ref owner, me, 0);
            if (was == 0)
            {
                return true;
            }
            if (was == me)
            {
                return false;
            }
            throw new InvalidOperationException("a TeamsOpBatch is used by one thread at a time, and another thread is using this one");
        }

        private void Leave(bool entered)
        {
            if (entered)
            {
                Volatile.Write(ref owner, 0);
            }
        }

        private void RunNative(uint ms, Func<ulong, TeamsOperationView, TeamsOpException, bool> onDone,
                               CancellationToken cancellationToken)
        {
            BatchHandle h = Handle;
            cancellationToken.ThrowIfCancellationRequested();
            var state = new RunState(onDone);
            BatchNativeMethods.DoneFn trampoline = onDone != null ? state.OnDone : (BatchNativeMethods.DoneFn)null;
            IntPtr cancel = IntPtr.Zero;
            var registration = default(CancellationTokenRegistration);
            Result r;
            TeamsOpException error = null;
            try
            {
                if (cancellationToken.CanBeCanceled)
                {
                    cancel = BatchNativeMethods.teamsop_cancel_new();
                    if (cancel == IntPtr.Zero)
                    {
                        throw new OutOfMemoryException("teamsop_cancel_new: out of memory");
                    }
                    IntPtr trigger = cancel;
                    registration = cancellationToken.Register(() => BatchNativeMethods.teamsop_cancel_trigger(trigger));
                }
                r = BatchNativeMethods.teamsop_batch_run(h, ms, trampoline, IntPtr.Zero, cancel);
                // Read the per-thread record at once, before anything else can touch it.
                if (r != Result.Ok)
                {
                    error = TeamsOpException.FromLastError(r);
                }
            }
            finally
            {
                // Waits for a trigger in progress on another thread, so the cancel is
                // freed only once nothing can pull it.
                registration.Dispose();
                if (cancel != IntPtr.Zero)
                {
                    BatchNativeMethods.teamsop_cancel_free(cancel);
                }
                // The native side may call the delegate until teamsop_batch_run returns.
                GC.KeepAlive(trampoline);
                GC.KeepAlive(state);
            }
            if (state.Thrown != null)
            {
                state.Thrown.Throw();
            }
            if (r == Result.Cancelled && !state.StoppedByCallback && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            if (error != null)
            {
                throw error;
            }
        }

        // The run on a thread of its own, in lockstep with the loop over its reports: the
        // callback hands one report over, then waits until the loop asks for the next one
        // (go on) or ends (stop the run: that operation was handed out, so none is lost).
        private System.Collections.Generic.IEnumerable<TeamsOpBatchReport> Reports(uint ms, CancellationToken cancellationToken)
        {
            var gate = new object();
            TeamsOpBatchReport slot = null;
            long handedOver = 0; // reports the callback gave
            long asked = 0;      // reports the loop asked for
            bool stopped = false;
            bool done = false;
            ExceptionDispatchInfo failure = null;
            // Pulled when the loop ends early, to end a run waiting between requests too.
            var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Func<ulong, TeamsOperationView, TeamsOpException, bool> handOver = (tag, view, error) =>
            {
                var report = new TeamsOpBatchReport(tag, view != null ? view.ToOperation() : null, error);
                lock (gate)
                {
                    slot = report;
                    long mine = ++handedOver;
                    Monitor.PulseAll(gate);
                    while (asked <= mine && !stopped)
                    {
                        Monitor.Wait(gate);
                    }
                    return !stopped;
                }
            };
            var worker = new Thread(() =>
            {
                try
                {
                    bool entered = Enter();
                    try
                    {
                        RunNative(ms, handOver, stop.Token);
                    }
                    finally
                    {
                        Leave(entered);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // The caller's token, not the one linked to it.
                    failure = ExceptionDispatchInfo.Capture(new OperationCanceledException(cancellationToken));
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
                finally
                {
                    lock (gate)
                    {
                        done = true;
                        Monitor.PulseAll(gate);
                    }
                }
            });
            worker.IsBackground = true;
            worker.Name = "TeamsOpBatch.RunReports";
            worker.Start();
            try
            {
                for (;;)
                {
                    TeamsOpBatchReport next;
                    lock (gate)
                    {
                        asked++;
                        Monitor.PulseAll(gate);
                        while (slot == null && !done)
                        {
                            Monitor.Wait(gate);
                        }
                        if (slot == null)
                        {
                            break;
                        }
                        next = slot;
                        slot = null;
                    }
                    yield return next;
                }
            }
            finally
            {
                // The loop ended early (break, exception) or the run did: stop it if it is
                // still going, and wait for its thread.
                lock (gate)
                {
                    stopped = true;
                    Monitor.PulseAll(gate);
                }
                stop.Cancel();
                worker.Join();
                stop.Dispose();
            }
            if (failure != null)
            {
                failure.Throw();
            }
        }

        /// <summary>The state of one run: the user's callback, and what it threw.</summary>
        private sealed class RunState
        {
            private readonly Func<ulong, TeamsOperationView, TeamsOpException, bool> onDone;

            internal RunState(Func<ulong, TeamsOperationView, TeamsOpException, bool> onDone)
            {
                this.onDone = onDone;
            }

            internal ExceptionDispatchInfo Thrown;
            internal bool StoppedByCallback;

            /// <summary>The teamsop_done_fn: never lets an exception out.</summary>
            internal bool OnDone(IntPtr userData, ulong tag, Result result, IntPtr op)
            {
                TeamsOperationView view = null;
                try
                {
                    // teamsop_last_* tell why this one ended, during this call only.
                    TeamsOpException error = result == Result.Ok ? null : TeamsOpException.FromLastError(result);
                    if (op != IntPtr.Zero)
                    {
                        view = new TeamsOperationView(op);
                    }
                    if (!onDone(tag, view, error))
                    {
                        StoppedByCallback = true;
                        return false;
                    }
                    return true;
                }
                catch (Exception e)
                {
                    Thrown = ExceptionDispatchInfo.Capture(e);
                    StoppedByCallback = true;
                    return false;
                }
                finally
                {
                    if (view != null)
                    {
                        view.Invalidate();
                    }
                }
            }
        }
    }

    /// <summary>The C functions of <c>teamsop_batch_*</c> (and the cancel trigger a run takes), one for one.</summary>
    internal static class BatchNativeMethods
    {
        private const string Lib = "teamsop";
        private const CallingConvention Cdecl = CallingConvention.Cdecl;

        /// <summary><c>teamsop_done_fn</c>.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        [return: MarshalAs(UnmanagedType.I1)]
        internal delegate bool DoneFn(IntPtr userData, ulong tag, Result result, IntPtr op);

        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern BatchHandle teamsop_batch_new(ClientHandle client);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern void teamsop_batch_free(IntPtr batch);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_batch_add(BatchHandle batch, byte[] location, ulong tag);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern UIntPtr teamsop_batch_pending(BatchHandle batch);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_batch_set_max_gets_per_second(BatchHandle batch, uint getsPerSecond);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern uint teamsop_batch_current_gets_per_second(BatchHandle batch);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_batch_set_json_batching(BatchHandle batch, [MarshalAs(UnmanagedType.I1)] bool enabled);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern Result teamsop_batch_run(BatchHandle batch, uint timeoutMs, DoneFn onDone,
                                                        IntPtr userData, IntPtr cancel);

        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern IntPtr teamsop_cancel_new();
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern void teamsop_cancel_trigger(IntPtr cancel);
        [DllImport(Lib, CallingConvention = Cdecl, ExactSpelling = true)]
        internal static extern void teamsop_cancel_free(IntPtr cancel);
    }
}
