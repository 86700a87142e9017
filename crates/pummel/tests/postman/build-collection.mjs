// Builds a Postman v2.1 collection of `pummel target`'s marketplace API with the
// postman-collection package (the SDK Postman's own tools use), writes it, and runs it once
// with newman to prove it is a real, working collection.
//
// Usage: node build-collection.mjs BASE_URL OUT.postman.json
// Prints newman's failures and exits 1 when a request or an assertion failed, 2 on bad usage.
import sdk from "postman-collection";
import newman from "newman";

// Both packages are CommonJS: their exports come as one default object.
const { Collection, ItemGroup, Item } = sdk;
import { writeFileSync } from "node:fs";

const [baseUrl, out] = process.argv.slice(2);
if (!baseUrl || !out) {
  console.error("usage: node build-collection.mjs BASE_URL OUT.postman.json");
  process.exit(2);
}

const json = (raw) => ({ mode: "raw", raw, options: { raw: { language: "json" } } });
// Each request's assertions sit in a `pm.test` block, so that newman counts them.
const status = (code) => [`pm.test("status ${code}", function () {`, `  pm.response.to.have.status(${code});`, "});"];
const test = (...lines) => [{ listen: "test", script: { type: "text/javascript", exec: lines } }];
const request = (name, method, url, extra = {}, tests = []) =>
  new Item({ name, request: { method, url, header: extra.header || [], body: extra.body }, event: test(...tests) });

const collection = new Collection({
  info: { name: "marketplace" },
  variable: [
    { key: "baseUrl", value: baseUrl },
    { key: "password", value: "pm-Secret-42" },
    { key: "category", value: "games" },
    { key: "rating", value: "4" },
    { key: "token", value: "" },
  ],
});

const account = new ItemGroup({ name: "account" });
account.items.add(
  request("register", "POST", "{{baseUrl}}/api/register",
    { body: json('{"username": "pm-{{$guid}}", "password": "{{password}}"}') },
    [
      ...status(201),
      'pm.collectionVariables.set("username", pm.response.json().username);',
    ]),
);
account.items.add(
  request("log in", "POST", "{{baseUrl}}/api/login",
    { body: json('{"username": "{{username}}", "password": "{{password}}"}') },
    [
      ...status(200),
      "const body = pm.response.json();",
      'pm.collectionVariables.set("token", body.token);',
    ]),
);
collection.items.add(account);

const apps = new ItemGroup({
  name: "apps",
  auth: { type: "bearer", bearer: [{ key: "token", value: "{{token}}", type: "string" }] },
});
apps.items.add(
  request("who am I", "GET", "{{baseUrl}}/api/me", {}, status(200)),
);
apps.items.add(
  request("submit app", "POST", "{{baseUrl}}/api/apps",
    { body: json('{"name": "app {{$randomInt}}", "category": "{{category}}", "description": "from a Postman collection"}') },
    [
      'pm.test("created", function () {',
      "  pm.expect(pm.response.code).to.eql(201);",
      "});",
      'pm.collectionVariables.set("appId", pm.response.json().id);',
    ]),
);
apps.items.add(
  new Item({
    name: "app page",
    request: {
      method: "GET",
      url: { raw: "{{baseUrl}}/api/apps/:id", host: ["{{baseUrl}}"], path: ["api", "apps", ":id"], variable: [{ key: "id", value: "{{appId}}" }] },
    },
    event: test(...status(200)),
  }),
);
apps.items.add(
  request("search", "GET", "{{baseUrl}}/api/apps?category={{category}}&limit=5", {}, status(200)),
);
apps.items.add(
  // Not JSON until the variable is filled in: `{{rating}}` stands for a number.
  request("review", "POST", "{{baseUrl}}/api/apps/{{appId}}/reviews",
    { header: [{ key: "Content-Type", value: "application/json" }], body: { mode: "raw", raw: '{"rating": {{rating}}, "text": "works offline"}' } },
    status(201)),
);
apps.items.add(
  request("remove app", "DELETE", "{{baseUrl}}/api/apps/{{appId}}", {}, status(204)),
);
collection.items.add(apps);

const exported = collection.toJSON();
exported.info.schema = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json";
writeFileSync(out, JSON.stringify(exported, null, 2));

newman.run({ collection: exported, reporters: [] }, (err, summary) => {
  if (err) {
    console.error(`newman could not run the collection: ${err.message}`);
    process.exit(1);
  }
  const failures = summary.run.failures.map((f) => `${f.source?.name || "?"}: ${f.error?.message}`);
  const stats = summary.run.stats;
  console.log(JSON.stringify({ requests: stats.requests.total, failedRequests: stats.requests.failed, assertions: stats.assertions.total, failedAssertions: stats.assertions.failed, failures }));
  process.exit(failures.length ? 1 : 0);
});
