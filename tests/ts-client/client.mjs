// The official MCP TypeScript SDK client (@modelcontextprotocol/sdk, pinned in package.json)
// running its real OAuth flow against an MCP server protected by mcp-auth. Driven by
// tests/tests/ts_sdk_client.rs against the notes example server and the development
// authorization server; it also runs by hand against `cargo run --example notes`:
//
//     node client.mjs http://127.0.0.1:3000/mcp
//     node client.mjs http://127.0.0.1:3000/mcp --scenario prompt --first-consent write:notes
//     node client.mjs http://127.0.0.1:3000/mcp --protocol-version 2025-06-18
//
// Usage: node client.mjs <mcp-url> [--scenario tools|prompt|template] [--redirect-url <url>]
//                                   [--first-consent <scope>|--no-first-consent]
//                                   [--no-refresh-workaround] [--protocol-version <v>]
//
// The scenario `tools` (the default), each step done by the SDK itself
// (StreamableHTTPClientTransport + auth()):
//   1. connect: POST initialize -> 401 -> protected resource metadata -> authorization server
//      metadata -> dynamic client registration -> authorization request (PKCE S256, resource)
//      -> code -> token -> initialize again with the bearer token;
//   2. tools/list, then tools/call whoami;
//   3. tools/call create_note with a token that only has read:notes -> HTTP 403
//      insufficient_scope -> the SDK re-authorizes with the challenged scope (its step-up) ->
//      create_note succeeds;
//   4. tools/call list_notes shows the note.
//
// The scenario `prompt` (run with --first-consent write:notes): connect as above; prompts/list
// (the server leaves out summarize_notes, which needs read:notes); prompts/get summarize_notes
// -> HTTP 403 insufficient_scope -> step-up -> prompts/get succeeds; prompts/list again (now
// with summarize_notes).
//
// The scenario `template` (run with --first-consent write:notes): connect as above; tools/call
// create_note (write:notes suffices); resources/templates/list and resources/list (the server
// leaves out notes://note/{id} and notes://stats, which need read:notes); resources/read
// notes://note/1 -> HTTP 403 insufficient_scope -> step-up -> resources/read returns the note;
// both lists again (now with the template and the resource).
//
// The "user agent" is redirectToAuthorization(): it sends the authorization request without
// following the redirect and reads the code from the Location header (the authorization
// server approves at once), checking `state` and `iss` (RFC 9207) first. Nothing listens at the
// redirect URL.
//
// The user approves read:notes only at the first authorization (--first-consent, default
// "read:notes"): the server's 401 names every scope its tools need, and the SDK asks for the
// challenged scope first (before PRM scopes_supported and clientMetadata.scope), so a narrower
// first grant has to come from the user. The client does it by narrowing the `scope` of the
// first authorization request.
//
// SDK 1.32.2 workaround (modelcontextprotocol/typescript-sdk#2255): on a 403 insufficient_scope
// the SDK calls auth(), which uses a stored refresh token before anything else; a refresh
// cannot widen the scope (RFC 6749 §6), so the retry gets the same 403 and the SDK gives up
// ("Server returned 403 after trying upscoping"). While a step-up is pending the provider
// therefore hides the refresh token from the SDK, which then sends the user to the
// authorization endpoint as the MCP step-up flow intends. --no-refresh-workaround shows the bug.
//
// Protocol revision (--protocol-version): SDK 1.32.2 always asks for its LATEST_PROTOCOL_VERSION,
// 2025-11-25, in `initialize`, and accepts any answer in its SUPPORTED_PROTOCOL_VERSIONS
// (2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05, 2024-10-07); after that it sends the
// negotiated revision as `MCP-Protocol-Version` on every request. With --protocol-version <v>
// the recording `fetch` rewrites `params.protocolVersion` of every `initialize` request it
// sends to <v>, so the server negotiates that revision and the SDK then uses it. Only the
// revisions the SDK supports work: 2026-07-28 is not one of them (this SDK version cannot
// speak it and rejects a server answering it: "Server's protocol version is not supported").
// The default (no option) leaves the SDK's 2025-11-25.
//
// Output: one JSON line on stdout: what the scenario saw (`tools`: tools, whoami,
// scopes_after_step_up, created_note, notes; `prompt`: prompts_before, prompt_messages, prompts_after; `template`: created_note,
// templates_before, resources_before, note_read, templates_after, resources_after), and in
// every scenario the authorizations, step-ups, granted scopes and the HTTP requests the SDK
// made: method, path, status, whether a bearer token was sent, the `MCP-Protocol-Version`
// header sent (`protocol_version`, absent when none), the JSON-RPC method of MCP requests, and
// the tool, prompt or resource URI they name; `protocol_version` at the top level is the
// revision the SDK ended up with (its transport's, set from the `initialize` result) and
// `requested_protocol_version` the --protocol-version given (null without it). Any failure: a
// message on stderr and exit code 1. Tokens, codes and verifiers are never printed.

import { randomBytes } from 'node:crypto';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const USAGE =
    'usage: node client.mjs <mcp-url> [--scenario tools|prompt|template] [--redirect-url <url>] [--first-consent <scope>|--no-first-consent] [--no-refresh-workaround] [--protocol-version <v>]';
const SCENARIOS = ['tools', 'prompt', 'template'];
const OVERALL_TIMEOUT_MS = 50_000;

function fail(message) {
    process.stderr.write(`ts-client: ${message}\n`);
    process.exit(1);
}

function parseArgs(argv) {
    const options = {
        mcpUrl: undefined,
        scenario: 'tools',
        redirectUrl: 'http://127.0.0.1:33418/callback',
        firstConsent: 'read:notes',
        refreshWorkaround: true,
        protocolVersion: undefined
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            const next = argv[++i];
            if (next === undefined) fail(`${arg} needs a value\n${USAGE}`);
            return next;
        };
        if (arg === '--scenario') options.scenario = value();
        else if (arg === '--redirect-url') options.redirectUrl = value();
        else if (arg === '--first-consent') options.firstConsent = value();
        else if (arg === '--no-first-consent') options.firstConsent = undefined;
        else if (arg === '--no-refresh-workaround') options.refreshWorkaround = false;
        else if (arg === '--protocol-version') options.protocolVersion = value();
        else if (arg.startsWith('--')) fail(`unknown option ${arg}\n${USAGE}`);
        else if (options.mcpUrl === undefined) options.mcpUrl = arg;
        else fail(`unexpected argument ${arg}\n${USAGE}`);
    }
    if (options.mcpUrl === undefined) fail(`the MCP URL is missing\n${USAGE}`);
    if (!SCENARIOS.includes(options.scenario)) fail(`unknown scenario ${JSON.stringify(options.scenario)}\n${USAGE}`);
    for (const [name, url] of [
        ['MCP URL', options.mcpUrl],
        ['redirect URL', options.redirectUrl]
    ]) {
        if (!URL.canParse(url)) fail(`the ${name} ${JSON.stringify(url)} is not an absolute URL`);
    }
    return options;
}

/**
 * The request log, whether a step-up is under way (a 403 insufficient_scope was seen), and the
 * protocol revision to ask for in `initialize` instead of the SDK's (undefined: the SDK's).
 */
class Traffic {
    constructor(mcpUrl, protocolVersion) {
        this.mcpUrl = new URL(mcpUrl).href;
        this.protocolVersion = protocolVersion;
        this.requests = [];
        this.stepUpPending = false;
    }

    /**
     * A `fetch` that records each request (of headers' values only `MCP-Protocol-Version`;
     * never query strings or bodies), rewriting the revision asked for in `initialize` when
     * --protocol-version was given.
     */
    fetch = async (input, init = {}) => {
        const isRequest = input instanceof Request;
        const url = new URL(isRequest ? input.url : input);
        const headers = new Headers(init.headers ?? (isRequest ? input.headers : undefined));
        const entry = {
            method: (init.method ?? (isRequest ? input.method : 'GET')).toUpperCase(),
            url: `${url.origin}${url.pathname}`,
            bearer: /^bearer /i.test(headers.get('authorization') ?? '')
        };
        const protocolVersion = headers.get('mcp-protocol-version');
        if (protocolVersion !== null) entry.protocol_version = protocolVersion;
        if (url.href === this.mcpUrl && typeof init.body === 'string') {
            try {
                const message = JSON.parse(init.body);
                const params = message?.params;
                if (typeof message?.method === 'string') entry.rpc = message.method;
                if (message?.method === 'initialize' && this.protocolVersion !== undefined && params) {
                    params.protocolVersion = this.protocolVersion;
                    init = { ...init, body: JSON.stringify(message) };
                }
                if (message?.method === 'tools/call' && typeof params?.name === 'string') entry.tool = params.name;
                if (message?.method === 'prompts/get' && typeof params?.name === 'string') entry.prompt = params.name;
                if (typeof params?.uri === 'string') entry.uri = params.uri;
            } catch {
                // Not JSON: recorded without a JSON-RPC method.
            }
        }
        this.requests.push(entry);
        const response = await fetch(input, init);
        entry.status = response.status;
        const challenge = response.headers.get('www-authenticate') ?? '';
        if (response.status === 403 && /error="?insufficient_scope/.test(challenge)) {
            this.stepUpPending = true;
        }
        return response;
    };
}

/**
 * An OAuthClientProvider keeping everything in memory, whose "browser" follows the
 * authorization request up to the redirect and keeps the code for finishAuth().
 */
class InMemoryOAuthProvider {
    constructor({ redirectUrl, firstConsent, refreshWorkaround, traffic }) {
        this._redirectUrl = redirectUrl;
        this._firstConsent = firstConsent;
        this._refreshWorkaround = refreshWorkaround;
        this._traffic = traffic;
        this._clientInformation = undefined;
        this._tokens = undefined;
        this._codeVerifier = undefined;
        this._state = undefined;
        this._issuer = undefined;
        this._pendingCode = undefined;
        /** One entry per authorization request: why, the scope asked, the scope approved. */
        this.authorizations = [];
        /** The scope of each token response (the value the authorization server returned). */
        this.grantedScopes = [];
    }

    get redirectUrl() {
        return this._redirectUrl;
    }

    get clientMetadata() {
        return {
            client_name: 'mcp-auth TypeScript SDK interop client',
            redirect_uris: [this._redirectUrl],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'none'
        };
    }

    state() {
        this._state = randomBytes(16).toString('hex');
        return this._state;
    }

    clientInformation() {
        return this._clientInformation;
    }

    saveClientInformation(information) {
        this._clientInformation = information;
    }

    tokens() {
        if (this._tokens && this._refreshWorkaround && this._traffic.stepUpPending) {
            // See the header: refreshing cannot widen the scope, so the SDK must not try.
            const { refresh_token: _hidden, ...withoutRefresh } = this._tokens;
            return withoutRefresh;
        }
        return this._tokens;
    }

    saveTokens(tokens) {
        this._tokens = tokens;
        this.grantedScopes.push(tokens.scope ?? null);
        this._traffic.stepUpPending = false;
    }

    saveCodeVerifier(codeVerifier) {
        this._codeVerifier = codeVerifier;
    }

    codeVerifier() {
        if (this._codeVerifier === undefined) throw new Error('no PKCE code verifier was saved');
        return this._codeVerifier;
    }

    // Only the setter: without discoveryState() the SDK runs discovery on every auth() call,
    // as it does by default. The metadata it used gives the issuer expected in `iss`.
    saveDiscoveryState(state) {
        this._issuer = state?.authorizationServerMetadata?.issuer;
    }

    invalidateCredentials(scope) {
        if (scope === 'all' || scope === 'client') this._clientInformation = undefined;
        if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
        if (scope === 'all' || scope === 'verifier') this._codeVerifier = undefined;
    }

    async redirectToAuthorization(authorizationUrl) {
        const url = new URL(authorizationUrl);
        const requested = url.searchParams.get('scope');
        const reason = this._traffic.stepUpPending ? 'insufficient_scope' : 'unauthorized';
        let approved = requested;
        if (this.authorizations.length === 0 && this._firstConsent !== undefined) {
            // The user approves only part of what was asked (see the header).
            approved = this._firstConsent;
            url.searchParams.set('scope', approved);
        }
        this.authorizations.push({ reason, requested, approved });

        const response = await this._traffic.fetch(url, { redirect: 'manual' });
        await response.body?.cancel();
        const location = response.headers.get('location');
        if (response.status < 300 || response.status > 399 || location === null) {
            throw new Error(
                `the authorization endpoint answered ${response.status} without a redirect (Consent::Auto expected)`
            );
        }
        const target = new URL(location, url);
        const expected = new URL(this._redirectUrl);
        if (target.origin !== expected.origin || target.pathname !== expected.pathname) {
            throw new Error(`the authorization endpoint redirected to ${target.origin}${target.pathname}, not the redirect URI`);
        }
        const param = name => target.searchParams.get(name);
        if (param('state') !== this._state) throw new Error('the authorization response has the wrong state');
        if (this._issuer === undefined) throw new Error('no authorization server metadata was discovered before the redirect');
        if (param('iss') !== this._issuer) {
            throw new Error(
                `the authorization response iss ${JSON.stringify(param('iss'))} is not the issuer ${JSON.stringify(this._issuer)} (RFC 9207)`
            );
        }
        if (param('error') !== null) {
            throw new Error(`the authorization failed: ${param('error')}: ${param('error_description') ?? ''}`);
        }
        if (param('code') === null) throw new Error('the authorization response has no code');
        this._pendingCode = param('code');
    }

    /** The code of the last authorization response, once. */
    takeCode() {
        const code = this._pendingCode;
        this._pendingCode = undefined;
        return code;
    }
}

/** Runs `operation`; on UnauthorizedError finishes the authorization and runs `retry` once. */
async function withAuthorization(what, provider, transport, operation, retry = operation) {
    try {
        return await operation();
    } catch (error) {
        if (!(error instanceof UnauthorizedError)) throw error;
        const code = provider.takeCode();
        if (code === undefined) throw new Error(`${what}: unauthorized, and no authorization code was obtained`);
        await transport.finishAuth(code);
        return await retry();
    }
}

function structured(what, result) {
    if (result.isError) {
        const text = (result.content ?? []).map(c => c.text ?? '').join(' ');
        throw new Error(`${what} returned a tool error: ${text}`);
    }
    if (result.structuredContent === undefined) throw new Error(`${what} returned no structured content`);
    return result.structuredContent;
}

/** The scenario `tools`: whoami, a step-up on create_note, list_notes. */
async function toolsScenario({ client, provider, transport }) {
    const tools = (await client.listTools()).tools.map(tool => tool.name).sort();
    const whoami = structured('whoami', await client.callTool({ name: 'whoami', arguments: {} }));

    const text = `written by the TypeScript SDK at ${new Date().toISOString()}`;
    // A 403 insufficient_scope here makes the SDK re-authorize; the call is then sent again.
    const created = await withAuthorization('create_note', provider, transport, () =>
        client.callTool({ name: 'create_note', arguments: { text } })
    );
    if (created.isError) throw new Error(`create_note returned a tool error: ${JSON.stringify(created.content)}`);
    const after = structured('whoami', await client.callTool({ name: 'whoami', arguments: {} }));
    const listed = structured('list_notes', await client.callTool({ name: 'list_notes', arguments: {} }));
    return {
        tools,
        whoami: { subject: whoami.subject, client_id: whoami.client_id, scopes: whoami.scopes },
        scopes_after_step_up: after.scopes,
        created_note: text,
        notes: listed.notes
    };
}

/** The scenario `prompt`: a step-up on prompts/get of a prompt the list did not show. */
async function promptScenario({ client, provider, transport }) {
    const prompts = async () => (await client.listPrompts()).prompts.map(prompt => prompt.name).sort();
    const before = await prompts();
    // The SDK surfaces a 403 insufficient_scope on any request as it does on tools/call: the
    // transport re-authorizes, and the UnauthorizedError ends the request.
    const prompt = await withAuthorization('prompts/get summarize_notes', provider, transport, () =>
        client.getPrompt({ name: 'summarize_notes' })
    );
    return { prompts_before: before, prompt_messages: prompt.messages.length, prompts_after: await prompts() };
}

/** The scenario `template`: a step-up on resources/read of a templated resource the lists did not show. */
async function templateScenario({ client, provider, transport }) {
    const text = `written by the TypeScript SDK at ${new Date().toISOString()}`;
    const created = await client.callTool({ name: 'create_note', arguments: { text } });
    if (created.isError) throw new Error(`create_note returned a tool error: ${JSON.stringify(created.content)}`);
    const templates = async () =>
        (await client.listResourceTemplates()).resourceTemplates.map(template => template.uriTemplate).sort();
    const resources = async () => (await client.listResources()).resources.map(resource => resource.uri).sort();
    const templatesBefore = await templates();
    const resourcesBefore = await resources();
    const uri = 'notes://note/1';
    const read = await withAuthorization(`resources/read ${uri}`, provider, transport, () => client.readResource({ uri }));
    const [contents, ...more] = read.contents;
    if (contents === undefined || more.length > 0) throw new Error(`resources/read ${uri} returned ${read.contents.length} contents, not 1`);
    if (contents.uri !== uri) throw new Error(`resources/read ${uri} returned the contents of ${contents.uri}`);
    if (typeof contents.text !== 'string') throw new Error(`resources/read ${uri} returned no text`);
    return {
        created_note: text,
        templates_before: templatesBefore,
        resources_before: resourcesBefore,
        note_read: contents.text,
        templates_after: await templates(),
        resources_after: await resources()
    };
}

const SCENARIO_RUNS = { tools: toolsScenario, prompt: promptScenario, template: templateScenario };

async function main() {
    const options = parseArgs(process.argv.slice(2));
    const traffic = new Traffic(options.mcpUrl, options.protocolVersion);
    const provider = new InMemoryOAuthProvider({ ...options, traffic });
    const client = new Client({ name: 'mcp-auth-ts-client', version: '1.0.0' });
    const newTransport = () =>
        new StreamableHTTPClientTransport(new URL(options.mcpUrl), { authProvider: provider, fetch: traffic.fetch });

    // The SDK's documented pattern: connect; on UnauthorizedError finish the authorization
    // with the code from the redirect, then connect again with a new transport.
    let transport = newTransport();
    await withAuthorization(
        'connect',
        provider,
        transport,
        () => client.connect(transport),
        () => {
            transport = newTransport();
            return client.connect(transport);
        }
    );

    // The revision the SDK negotiated: what it sends as MCP-Protocol-Version from now on.
    // (Not checked against --protocol-version: the caller compares the two fields.)
    const protocolVersion = transport.protocolVersion;
    const seen = await SCENARIO_RUNS[options.scenario]({ client, provider, transport });
    await client.close();

    // The scenario's first fields, then the authorizations, then the rest (JSON.stringify leaves
    // out the undefined ones: the fields of the other scenarios).
    const { tools, whoami, scopes_after_step_up, ...rest } = seen;
    const result = {
        sdk: '@modelcontextprotocol/sdk',
        requested_protocol_version: options.protocolVersion ?? null,
        protocol_version: protocolVersion ?? null,
        tools,
        whoami,
        scopes_after_step_up,
        authorizations: provider.authorizations,
        granted_scopes: provider.grantedScopes,
        step_ups: provider.authorizations.filter(a => a.reason === 'insufficient_scope').length,
        ...rest,
        requests: traffic.requests
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

setTimeout(() => fail(`no result after ${OVERALL_TIMEOUT_MS / 1000} s`), OVERALL_TIMEOUT_MS).unref();
main().then(
    () => process.exit(0),
    error => fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
);
