#!/usr/bin/env bash
# A photo script tried against the sandbox tenant instead of production: start the
# sandbox, take a managed-identity token, list users, upload a photo, read it back,
# and see what Graph says to a bad upload. Needs curl and python3.
#   bash scripts/sandbox-example.sh [PATH-TO-photo-sync]
set -euo pipefail
BIN=${1:-photo-sync}
PORT=${PORT:-8421}
OUT=$(mktemp -d)
trap 'kill "$SANDBOX" 2>/dev/null; rm -rf "$OUT"' EXIT

# 1. The sandbox alone, on a fixed port. Its first output line is JSON naming its endpoints.
"$BIN" sandbox --port "$PORT" --users 50 --throttle documented > "$OUT/sandbox.out" &
SANDBOX=$!
for _ in $(seq 100); do [ -s "$OUT/sandbox.out" ] && break; sleep 0.1; done
json() { head -1 "$OUT/sandbox.out" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
GRAPH=$(json graph_url)
IDENTITY_ENDPOINT=$(json identity_endpoint)
IDENTITY_HEADER=$(json identity_header)

# 2. A Graph token, the way any tool on Azure Functions gets one (App Service protocol).
TOKEN=$(curl -sf -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" \
  "$IDENTITY_ENDPOINT?api-version=2019-08-01&resource=https://graph.microsoft.com" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# 3. Users, as from graph.microsoft.com.
curl -sf -H "Authorization: Bearer $TOKEN" \
  "$GRAPH/v1.0/users?\$top=3&\$select=id,userPrincipalName,employeeId" > "$OUT/users.json"
python3 -c 'import json,sys; [print("user", u["userPrincipalName"]) for u in json.load(open(sys.argv[1]))["value"]]' "$OUT/users.json"
USER_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["value"][0]["id"])' "$OUT/users.json")

# 4. Upload a photo (any JPEG; here another user's, read through Graph), read it back.
DONOR=$(curl -sf "$GRAPH/_sandbox/users" | python3 -c 'import json,sys; print(next(u["id"] for u in json.load(sys.stdin)["value"] if u["hasPhoto"]))')
curl -sf -H "Authorization: Bearer $TOKEN" -o "$OUT/photo.jpg" "$GRAPH/v1.0/users/$DONOR/photo/\$value"
curl -sf -X PUT -H "Authorization: Bearer $TOKEN" -H "Content-Type: image/jpeg" \
  --data-binary "@$OUT/photo.jpg" "$GRAPH/v1.0/users/$USER_ID/photo/\$value" -o /dev/null -w "upload %{http_code}\n"
curl -sf -H "Authorization: Bearer $TOKEN" "$GRAPH/v1.0/users/$USER_ID/photo" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print("photo", m["width"], "x", m["height"], "etag", m["@odata.mediaEtag"])'
curl -sf -H "Authorization: Bearer $TOKEN" -o "$OUT/read.jpg" "$GRAPH/v1.0/users/$USER_ID/photos/96x96/\$value"
echo "read back 96x96: $(wc -c < "$OUT/read.jpg") bytes"

# 5. What Graph says to a script's mistakes: the wrong content type, and no token.
curl -s -X PUT -H "Authorization: Bearer $TOKEN" -H "Content-Type: text/plain" \
  --data-binary "@$OUT/photo.jpg" "$GRAPH/v1.0/users/$USER_ID/photo/\$value" -w "\n"
curl -s "$GRAPH/v1.0/users" -w "\n"
