#!/usr/bin/env bash
# The demo: run under scripts/with-emulator.sh. Fetches the operation of Graph's
# documentation page through the C ABI, then creates a team and waits on its
# Location, as a program would after a 202 Accepted.
set -euo pipefail
get=${TEAMSOP_GET:-out/teamsop-get}

echo "== GET /beta/chats/{chat-id}/operations/{operation-id} on the emulator ($TEAMSOP_BASE_URL)"
"$get" --base-url "$TEAMSOP_BASE_URL" \
  --chat '19:c253a29b5f694b55a6baad8e83510af7@thread.v2' \
  --operation '2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4'

echo
echo "== POST /beta/teams: Graph answers 202 Accepted with a Location"
location=$(curl -sS -D - -o /dev/null -X POST \
  -H "Authorization: Bearer $TEAMSOP_TOKEN" -H 'Content-Type: application/json' \
  -d '{"displayName":"libteamsop demo","template@odata.bind":"https://graph.microsoft.com/beta/teamsTemplates('"'"'standard'"'"')"}' \
  "$TEAMSOP_BASE_URL/teams" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
[ -n "$location" ] || { echo "demo: no Location in the answer" >&2; exit 1; }
echo "Location: $location"

echo
echo "== teamsop_wait on that Location (progress on stderr, the final operation on stdout)"
"$get" --base-url "$TEAMSOP_BASE_URL" --location "$location" --wait 30 --poll-ms 500
