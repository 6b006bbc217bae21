// SPDX-License-Identifier: GPL-3.0-or-later
// Officer map page: sign in, my beat's recommended streets coloured by score with reasons,
// walk lists of targeting set-ups, recording a visit, local priorities and "who we are not
// hearing", and the data's attributions. Talks only to this service (OGC API Features).
'use strict';

(function () {
  const TOKEN_KEY = 'lpt.token';
  const ID_TOKEN_KEY = 'lpt.id_token'; // kept only to end the session at the provider
  const PKCE_KEY = 'lpt.pkce';
  const SCORE_COLLECTIONS = ['street_scores', 'street-scores', 'scores'];
  const SETUP_COLLECTIONS = ['setups', 'targeting_setups', 'set-ups'];
  const WALK_COLLECTIONS = ['walk_lists', 'walklists', 'walk-lists', 'setup_households'];
  const PROFILE_COLLECTIONS = ['area_profiles', 'area-profiles'];
  // Colour-blind-safe sequential ramp (low → high priority).
  const RAMP = ['#fee391', '#fec44f', '#fe9929', '#d95f0e', '#993404'];

  const $ = (id) => document.getElementById(id);
  const state = {
    config: null, token: null, claims: null, collections: new Set(), beats: [], beat: null,
    streets: [], scoreField: null, scoreSource: null, map: null, beatLayer: null,
    streetLayer: null, streetById: new Map(), setups: [], walk: [], ready: false,
  };
  window.lptState = state; // for the browser test and for debugging

  // ---------------------------------------------------------------- helpers
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function message(node, text, kind) {
    node.textContent = text || '';
    node.classList.toggle('error', kind === 'error');
    node.classList.toggle('ok', kind === 'ok');
  }

  function b64urlDecode(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    return decodeURIComponent(Array.prototype.map.call(atob(s),
      (c) => '%' + ('00' + c.charCodeAt(0).toString(16)).slice(-2)).join(''));
  }

  function b64url(bytes) {
    let s = '';
    for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function claimsOf(token) {
    try { return JSON.parse(b64urlDecode(token.split('.')[1])); } catch (e) { return null; }
  }

  function claim(claims, path) {
    let v = claims;
    for (const p of path.split('.')) { if (!v || typeof v !== 'object') return undefined; v = v[p]; }
    return v;
  }

  class HttpError extends Error {
    constructor(status, text) { super(text); this.status = status; }
  }

  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({ Accept: 'application/geo+json, application/json' },
      opts.headers || {});
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const resp = await fetch(path, Object.assign({}, opts, { headers }));
    if (resp.status === 401 && state.token) {
      let why = '';
      try { why = (await resp.json()).description || ''; } catch (e) { /* not JSON */ }
      signOut(`The service refused your sign-in${why ? ` (${why})` : ''}; please sign in again.`);
      throw new HttpError(401, 'signed out');
    }
    if (!resp.ok) {
      let text = resp.statusText;
      try { const b = await resp.json(); text = b.description || b.detail || JSON.stringify(b); }
      catch (e) { /* not JSON */ }
      throw new HttpError(resp.status, text);
    }
    return resp;
  }

  async function getJson(path, headers) { return (await api(path, { headers })).json(); }

  function purpose() {
    return $('visit-purpose').value.trim() || `Door-knocking in beat ${beatCode()}`;
  }

  function beatCode() {
    return state.beat ? (state.beat.properties.code || state.beat.id) : '';
  }

  // Every feature of a query, following the OGC API 'next' links.
  async function features(collection, params, headers) {
    const q = new URLSearchParams(Object.assign({ f: 'json', limit: '5000' }, params || {}));
    let url = `/collections/${encodeURIComponent(collection)}/items?${q}`;
    const out = [];
    for (let guard = 0; url && guard < 50; guard++) {
      const page = await getJson(url, headers);
      out.push(...(page.features || []));
      const next = (page.links || []).find((l) => l.rel === 'next');
      url = next && (page.features || []).length ? sameOrigin(next.href) : null;
    }
    return out;
  }

  function sameOrigin(href) {
    const u = new URL(href, location.href);
    return u.pathname + u.search; // the service may advertise another host name
  }

  // ---------------------------------------------------------------- sign in
  function currentToken() {
    const t = sessionStorage.getItem(TOKEN_KEY);
    if (!t) return null;
    const c = claimsOf(t);
    if (!c || (c.exp && c.exp * 1000 < Date.now())) { sessionStorage.removeItem(TOKEN_KEY); return null; }
    return t;
  }

  function signOut(text) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ID_TOKEN_KEY);
    state.token = null; state.claims = null;
    if (state.analyses) state.analyses.cache.clear();
    showSignIn(text);
  }

  // The sign-out button: also ends the session at the provider when it has an
  // end_session_endpoint (RP-initiated logout), else the next "Sign in" on a shared device
  // would be let straight through by the provider's session.
  function signOutEverywhere() {
    const o = state.config.auth.oidc;
    const idToken = sessionStorage.getItem(ID_TOKEN_KEY);
    signOut('');
    if (o && o.end_session_endpoint && idToken) {
      const q = new URLSearchParams({ id_token_hint: idToken, client_id: o.client_id,
        post_logout_redirect_uri: redirectUri() });
      location.assign(o.end_session_endpoint + (o.end_session_endpoint.includes('?') ? '&' : '?') + q);
    }
  }

  function showSignIn(text) {
    $('main').hidden = true; $('who').hidden = true; $('signout').hidden = true;
    $('signin').hidden = false;
    message($('signin-message'), text || '', text ? 'error' : null);
  }

  async function setupSignIn() {
    const auth = state.config.auth;
    if (auth.oidc) $('signin-oidc').hidden = false;
    if (auth.demo) {
      const { users } = await getJson('/auth/demo/users');
      const sel = $('demo-user');
      sel.replaceChildren(...users.map((u) => el('option', { value: u.sub,
        text: `${u.name} — ${u.role.replace('_', ' ')}${u.areas.length ? ' ' + u.areas.join(', ') : ''}` })));
      $('signin-demo').hidden = false;
    }
    $('signin-demo').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const resp = await fetch('/auth/demo-login', { method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ sub: $('demo-user').value }) });
        const body = await resp.json();
        if (!resp.ok) throw new Error(body.description || resp.statusText);
        await signedIn(body.access_token);
      } catch (e) { message($('signin-message'), 'Sign-in failed: ' + e.message, 'error'); }
    });
    $('token-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const t = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
      if (!claimsOf(t)) { message($('signin-message'), 'That is not a JWT.', 'error'); return; }
      await signedIn(t);
    });
    $('oidc-start').addEventListener('click', startPkce);
    $('signout').addEventListener('click', signOutEverywhere);
  }

  // Authorisation code + PKCE with the force's OpenID Connect provider (production).
  // The redirect URI is the page's folder (<server>/app/), whatever address the page was
  // opened at (/app/index.html, /app/?…): it must be exactly the URI registered at the provider.
  function redirectUri() {
    return location.origin + location.pathname.replace(/[^/]*$/, '');
  }

  async function startPkce() {
    const o = state.config.auth.oidc;
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(48)));
    const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    const st = b64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state: st, redirect_uri: redirectUri() }));
    const q = new URLSearchParams({ response_type: 'code', client_id: o.client_id,
      redirect_uri: redirectUri(), scope: o.scope, state: st,
      code_challenge: challenge, code_challenge_method: 'S256' });
    location.assign(o.authorization_endpoint + (o.authorization_endpoint.includes('?') ? '&' : '?') + q);
  }

  async function finishPkce() {
    const q = new URLSearchParams(location.search);
    if (!q.has('code') && !q.has('error')) return null;
    history.replaceState(null, '', location.pathname);
    const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
    sessionStorage.removeItem(PKCE_KEY);
    if (q.has('error')) throw new Error(q.get('error_description') || q.get('error'));
    if (!saved || saved.state !== q.get('state')) throw new Error('sign-in state did not match; try again');
    const o = state.config.auth.oidc;
    // RFC 9207: a provider that names itself in the response must be ours (mix-up defence).
    if (q.has('iss') && o.issuer && q.get('iss') !== o.issuer) {
      throw new Error(`the sign-in response came from ${q.get('iss')}, not ${o.issuer}`);
    }
    const resp = await fetch(o.token_endpoint, { method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: q.get('code'),
        redirect_uri: saved.redirect_uri || redirectUri(), client_id: o.client_id,
        code_verifier: saved.verifier }) });
    let body = {};
    try { body = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok || !body.access_token) throw new Error(body.error_description || body.error || resp.statusText);
    // The service verifies JWTs only; an opaque token means the provider is not set up to
    // issue JWT access tokens for the service's audience.
    if (!claimsOf(body.access_token)) {
      throw new Error('the provider returned an access token that is not a JWT; ' +
        'this service needs JWT access tokens for its audience');
    }
    if (body.id_token) sessionStorage.setItem(ID_TOKEN_KEY, body.id_token);
    return body.access_token;
  }

  async function signedIn(token) {
    const claims = claimsOf(token);
    sessionStorage.setItem(TOKEN_KEY, token);
    state.token = token; state.claims = claims;
    $('signin').hidden = true; $('main').hidden = false;
    const role = claim(claims, state.config.auth.role_claim);
    const idClaims = claimsOf(sessionStorage.getItem(ID_TOKEN_KEY) || '') || {};
    const name = claims.name || (idClaims.sub === claims.sub && idClaims.name) || claims.sub;
    state.role = String(role || '');
    $('who').textContent = `${name} · ${String(role || '').replace('_', ' ')}`;
    $('who').hidden = false; $('signout').hidden = false;
    delete document.body.dataset.loaded;
    try {
      await loadBeats();
      document.body.dataset.loaded = '1'; // streets, beat facts and walk list are shown
    } catch (e) {
      if (e.status !== 401) showSignIn('Could not load your beat: ' + e.message);
    }
  }

  // ---------------------------------------------------------------- map and beats
  function ensureMap() {
    if (state.map) return;
    state.map = L.map('map', { zoomControl: true, attributionControl: true, preferCanvas: false });
    state.map.attributionControl.setPrefix(false);
    for (const line of state.config.attributions) state.map.attributionControl.addAttribution(escapeHtml(line));
    state.beatLayer = L.geoJSON(null, { style: { color: '#0b4f8a', weight: 2, fill: true,
      fillOpacity: 0.04, dashArray: '6 4', className: 'lpt-beat' }, interactive: false }).addTo(state.map);
    state.streetLayer = L.geoJSON(null, {
      style: (f) => ({ color: colourOf(f), weight: 5, opacity: 0.95, className: 'lpt-street' }),
      onEachFeature: (f, layer) => {
        state.streetById.set(f.id, layer);
        layer.on('click', () => selectStreet(f.id, false));
      },
    }).addTo(state.map);
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  async function loadBeats() {
    const cols = await getJson('/collections?f=json');
    state.collections = new Set((cols.collections || []).map((c) => c.id));
    const beats = await features('areas', { level: 'beat' });
    beats.sort((a, b) => String(a.id).localeCompare(String(b.id)));
    state.beats = beats;
    const sel = $('beat-select');
    sel.replaceChildren(...beats.map((b) => el('option', { value: b.id,
      text: b.properties.name ? `${b.properties.name} (${b.properties.code})` : b.id })));
    sel.onchange = () => showBeat(sel.value);
    ensureMap();
    prepareProgress();
    state.npaNames = new Map();
    if (state.role === 'supervisor') {
      try {
        for (const f of await features('areas', { level: 'npa', skipGeometry: 'true' })) {
          state.npaNames.set(f.id, f.properties.name || f.properties.code || f.id);
        }
      } catch (e) { if (e.status === 401) throw e; /* codes only */ }
    }
    if (!beats.length) {
      message($('walk-message'), 'You have no beat in this service.', 'error');
      return;
    }
    await showBeat(beats[0].id);
  }

  async function showBeat(beatId) {
    state.beat = state.beats.find((b) => b.id === beatId);
    $('beat-select').value = beatId;
    state.beatLayer.clearLayers();
    state.beatLayer.addData(state.beat);
    $('visit-purpose').value = $('visit-purpose').value ||
      `Door-knocking in beat ${state.beat.properties.code || beatId}`;
    try {
      await loadStreets(beatId);
    } catch (e) {
      // A role without street scores (partners, the public) still sees the beat's figures.
      if (e.status !== 403) throw e;
      state.streets = [];
      $('score-source').textContent = 'Street scores are not shown to your role.';
      $('legend').replaceChildren();
      $('street-list').replaceChildren();
      $('street-list').dataset.count = '0';
    }
    prepareAnalyses();
    await showBeatFacts();
    await loadSetups();
    await loadMessagesPanel();
  }

  // ---------------------------------------------------------------- streets
  async function loadStreets(beatId) {
    const scores = SCORE_COLLECTIONS.find((c) => state.collections.has(c));
    let streets;
    if (scores) {
      streets = await features(scores, { beat_id: beatId });
      state.scoreField = 'score';
      state.scoreSource = 'Street scores';
    } else {
      // Provisional until the street-score collection is published: households per street.
      streets = await features('streets', { beat_id: beatId });
      state.scoreField = 'households';
      state.scoreSource = 'Provisional: households per street (street scores not published yet)';
    }
    streets = streets.filter((f) => !f.properties.beat_id || f.properties.beat_id === beatId);
    const val = (f) => Number(f.properties[state.scoreField]);
    streets.sort((a, b) => (a.properties.rank_in_beat ?? 0) - (b.properties.rank_in_beat ?? 0) ||
      (val(b) || 0) - (val(a) || 0));
    const values = streets.map(val).filter((v) => Number.isFinite(v));
    state.range = [Math.min(...values), Math.max(...values)];
    state.streets = streets;
    $('score-source').textContent = state.scoreSource;
    state.streetById.clear();
    state.streetLayer.clearLayers();
    state.streetLayer.addData(streets.filter((f) => f.geometry));
    // Frame the streets to visit (the beat outline when it has none).
    const frame = streets.some((f) => f.geometry) ? state.streetLayer : state.beatLayer;
    try { state.map.fitBounds(frame.getBounds(), { padding: [12, 12] }); } catch (e) { /* no geometry */ }
    renderLegend();
    renderStreetList();
  }

  function classOf(v) {
    const [lo, hi] = state.range || [0, 0];
    if (!Number.isFinite(v)) return -1;
    if (!(hi > lo)) return RAMP.length - 1;
    return Math.min(RAMP.length - 1, Math.floor(((v - lo) / (hi - lo)) * RAMP.length));
  }

  function colourOf(f) {
    const k = classOf(Number(f.properties[state.scoreField]));
    return k < 0 ? '#9aa3ad' : RAMP[k];
  }

  function fmt(v) {
    const n = Number(v);
    if (!Number.isFinite(n)) return '–';
    return Math.abs(n) >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(2);
  }

  function reasonsOf(p) {
    let r = p.reasons;
    if (typeof r === 'string') {
      try { const j = JSON.parse(r); if (Array.isArray(j)) r = j; } catch (e) { /* plain text */ }
    }
    if (Array.isArray(r)) return r.map((x) => (typeof x === 'string' ? x : x.text || JSON.stringify(x))).join('; ');
    if (r) return String(r);
    const bits = [];
    if (p.households !== undefined) bits.push(`${p.households} households`);
    if (p.length_m) bits.push(`${Math.round(p.length_m)} m`);
    if (p.highway) bits.push(p.highway);
    return bits.join(' · ');
  }

  // The recommended action of a street, when the scores carry one (degrades to nothing).
  function actionOf(p) {
    const action = p.action_label || p.action;
    if (action === undefined || action === null || String(action).trim() === '') return null;
    const what = String(action).replace(/_/g, ' ');
    const why = p.action_reason ? String(p.action_reason).trim() : '';
    return el('div', { class: 'action', text: `Recommended: ${what}${why ? ' — ' + why : ''}` });
  }

  function renderLegend() {
    const [lo, hi] = state.range;
    const label = state.scoreField === 'score' ? 'score' : 'households';
    $('legend').replaceChildren(el('span', { text: `${label}: low ${fmt(lo)}` }),
      ...RAMP.map((c) => el('span', { class: 'swatch', style: `background:${c}` })),
      el('span', { text: `high ${fmt(hi)}` }));
  }

  function renderStreetList() {
    const list = $('street-list');
    list.dataset.count = String(state.streets.length);
    list.replaceChildren(...state.streets.map((f) => {
      const p = f.properties;
      return el('li', { 'data-street-id': f.id, onclick: () => selectStreet(f.id, true) },
        el('span', { class: 'swatch', style: `background:${colourOf(f)}` }),
        el('div', null, el('div', { class: 'name', text: p.name || f.id }),
          el('div', { class: 'reasons', text: reasonsOf(p) }), actionOf(p)),
        el('span', { class: 'score', text: fmt(p[state.scoreField]) }));
    }));
    if (!state.streets.length) list.append(el('li', { class: 'empty', text: 'No streets in this beat.' }));
  }

  function selectStreet(id, zoom) {
    for (const li of document.querySelectorAll('#street-list li.selected')) li.classList.remove('selected');
    const li = document.querySelector(`#street-list li[data-street-id="${CSS.escape(String(id))}"]`);
    if (li) { li.classList.add('selected'); if (!zoom) li.scrollIntoView({ block: 'nearest' }); }
    const layer = state.streetById.get(id);
    if (layer) {
      state.streetLayer.resetStyle();
      layer.setStyle({ weight: 9 });
      layer.bringToFront();
      if (zoom) state.map.fitBounds(layer.getBounds(), { maxZoom: 17, padding: [20, 20] });
    }
  }

  // ---------------------------------------------------------------- walk lists
  async function loadSetups() {
    $('walk-list').replaceChildren();
    delete $('walk-list').dataset.count;
    delete $('walk-list').dataset.setup;
    $('setup-select').hidden = true; $('setup-select').previousElementSibling.hidden = true;
    const setupsC = SETUP_COLLECTIONS.find((c) => state.collections.has(c));
    const walkC = WALK_COLLECTIONS.find((c) => state.collections.has(c));
    if (!setupsC || !walkC) {
      message($('walk-message'), 'Walk lists are not published by this service yet. ' +
        'Record visits by address (UPRN) in "Record visit".');
      return;
    }
    try {
      state.setups = (await features(setupsC, {})).filter((s) => (s.properties.status || 'live') === 'live' &&
        (!Array.isArray(s.properties.beats) || s.properties.beats.includes(state.beat.id)));
    } catch (e) {
      message($('walk-message'), 'Could not read targeting set-ups: ' + e.message, 'error');
      return;
    }
    const sel = $('setup-select');
    if (!state.setups.length) { message($('walk-message'), 'No live targeting set-up covers this beat.'); return; }
    sel.replaceChildren(...state.setups.map((s) => el('option', { value: s.properties.setup_id || s.id,
      text: s.properties.name ? `${s.properties.name} (${s.properties.setup_id || s.id})` : s.id })));
    sel.hidden = false; sel.previousElementSibling.hidden = false;
    sel.onchange = () => loadWalk(walkC, sel.value);
    message($('walk-message'), '');
    await loadWalk(walkC, sel.value);
  }

  async function loadWalk(walkC, setupId) {
    let rows;
    try {
      // Walk lists are personal data: the service audits the read with our purpose.
      rows = await features(walkC, { setup_id: setupId }, { 'X-Purpose': purpose() });
    } catch (e) {
      message($('walk-message'), 'Could not read the walk list: ' + e.message, 'error');
      return;
    }
    rows = rows.filter((f) => !f.properties.beat_id || f.properties.beat_id === state.beat.id);
    rows.sort((a, b) => (a.properties.street_rank ?? 0) - (b.properties.street_rank ?? 0) ||
      String(a.properties.street_id).localeCompare(String(b.properties.street_id)) ||
      (a.properties.walk_order ?? 0) - (b.properties.walk_order ?? 0));
    state.walk = rows;
    const names = new Map(state.streets.map((f) => [f.properties.street_id || f.id, f.properties.name]));
    const list = $('walk-list');
    list.dataset.count = String(rows.length);
    list.dataset.setup = setupId;
    list.replaceChildren(...rows.map((f, i) => {
      const p = f.properties;
      return el('li', { 'data-uprn': p.uprn },
        el('span', { class: 'score', text: String(i + 1) }),
        el('div', null,
          el('div', { class: 'name', text: `${p.address || p.uprn}${p.postcode ? ', ' + p.postcode : ''}` }),
          el('div', { class: 'reasons', text: [p.street_name || names.get(p.street_id) || p.street_id,
            p.is_target === true || Number(p.is_target) ? 'target household' : null, p.reason,
            p.suppressed_until ? `not before ${p.suppressed_until}` : null].filter(Boolean).join(' · ') })),
        el('button', { type: 'button', text: 'Visit', onclick: () => startVisit(p.uprn, setupId) }));
    }));
    if (!rows.length) list.append(el('li', { text: 'This walk list is empty.' }));
  }

  // ---------------------------------------------------------------- visits
  function localNow() {
    const d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }

  function startVisit(uprn, setupId) {
    $('visit-uprn').value = uprn || '';
    $('visit-setup').value = setupId || '';
    $('visit-when').value = localNow();
    message($('visit-result'), '');
    selectTab('visit');
  }

  async function recordVisit(ev) {
    ev.preventDefault();
    const props = { uprn: $('visit-uprn').value.trim(), outcome: $('visit-outcome').value,
      visited_at: $('visit-when').value };
    if ($('visit-setup').value.trim()) props.setup_id = $('visit-setup').value.trim();
    if ($('visit-notes').value.trim()) props.notes = $('visit-notes').value.trim();
    const result = $('visit-result');
    const door = doorInputs();
    if (door && door.refused) {
      message(result, 'Not recorded: the resident has not agreed to the consent statement; ' +
        'untick "register" or record their answer.', 'error');
      return;
    }
    const pending = state.doorPending;
    if (door && pending && pending.uprn === props.uprn) {
      // The visit is recorded; only its survey or registration was refused: send them again.
      await recordDoor(pending.visitId, props.uprn, door, result);
      return;
    }
    message(result, 'Saving…');
    try {
      const resp = await api('/collections/visits/items', { method: 'POST',
        headers: { 'Content-Type': 'application/geo+json', 'X-Purpose': $('visit-purpose').value.trim() },
        body: JSON.stringify({ type: 'Feature', geometry: null, properties: props }) });
      const loc = resp.headers.get('Location') || '';
      const id = decodeURIComponent(loc.split('/').pop() || '');
      result.dataset.visitId = id;
      message(result, `Visit recorded (${id}).`, 'ok');
      const li = document.querySelector(`#walk-list li[data-uprn="${CSS.escape(props.uprn)}"]`);
      if (li) li.classList.add('selected');
      $('visit-notes').value = '';
      if (door) await recordDoor(id, props.uprn, door, result);
    } catch (e) {
      if (e.status === 401) return;
      delete result.dataset.visitId;
      message(result, e.status === 404
        ? `Not recorded: address ${props.uprn} is not in your beats.`
        : `Not recorded: ${e.message}`, 'error');
    }
  }

  // ---------------------------------------------------------------- beat facts
  function parseMaybeJson(v) {
    if (typeof v !== 'string') return v;
    const t = v.trim();
    if (!(t.startsWith('[') || t.startsWith('{'))) return v;
    try { return JSON.parse(t); } catch (e) { return v; }
  }

  async function showBeatFacts() {
    let p = Object.assign({}, state.beat.properties);
    const profiles = PROFILE_COLLECTIONS.find((c) => state.collections.has(c));
    if (profiles) {
      try {
        const f = await getJson(`/collections/${profiles}/items/${encodeURIComponent(state.beat.id)}?f=json`);
        p = Object.assign(p, f.properties || {});
      } catch (e) {
        if (e.status === 401) return;
        p.priority_note = 'Could not read priorities: ' + e.message;
      }
    }
    state.profile = p;
    const pri = parseMaybeJson(p.priorities);
    const priNodes = [];
    if (Array.isArray(pri) && pri.length) {
      priNodes.push(el('ol', null, ...pri.map((x) => el('li', { text: String(x) }))));
    }
    if (p.respondents !== undefined && p.respondents !== null) {
      priNodes.push(el('p', { class: 'hint', text: `From ${p.respondents} survey respondents in the beat.` }));
    }
    if (p.priority_note) priNodes.push(el('p', { class: 'hint', text: String(p.priority_note) }));
    $('priorities').replaceChildren(...(priNodes.length ? priNodes
      : [el('p', { class: 'hint', text: 'No local priorities published for this beat yet.' })]));

    const under = parseMaybeJson(p.under_represented);
    const table = parseMaybeJson(p.representation);
    const hearNodes = [];
    if (Array.isArray(under)) {
      hearNodes.push(under.length
        ? el('ul', null, ...under.map((g) => {
          const row = Array.isArray(table) ? table.find((r) => r.group_name === g) : null;
          const ratio = row && row.member_ratio !== null && Number.isFinite(Number(row.member_ratio))
            ? ` (members at ${Math.round(100 * Number(row.member_ratio))}% of a fair share)` : '';
          return el('li', { text: `${g}${ratio}` });
        }))
        : el('p', { text: 'No group is under-represented among members here.' }));
      hearNodes.push(el('p', { class: 'hint', text: 'Groups whose share of members is well below their share of households.' }));
    }
    $('not-hearing').replaceChildren(...(hearNodes.length ? hearNodes
      : [el('p', { class: 'hint', text: 'No representation figures published for this beat yet.' })]));

    const counts = ['households', 'members', 'respondents', 'crimes'].filter((k) => k in p);
    $('beat-counts').replaceChildren(counts.length ? el('ul', null, ...counts.map((k) =>
      el('li', { text: `${k}: ${p[k] === null ? 'withheld' : p[k]}` }))) :
      el('p', { class: 'hint', text: '–' }));
  }

  // ---------------------------------------------------------------- beat analyses (issue 11)
  // The Beat tab's confidence and feeling safe, what changed, the key individual network and
  // the priorities by channel of the beat (and, for a supervisor, of their npa): the
  // area_confidence, area_change, network_gaps and network_groups collections and the
  // priorities-by-group process, shown as the service returns them (every figure is the
  // core's; the page only words it). Police roles see exact figures; for partners and the
  // public a withheld figure is null with the row's disclosure "k=N", shown as "fewer than
  // N*" (see withheld()). Each section degrades on its own: not published, no row for the
  // area, or an error.
  const CHANNEL_TEXT = { door_knock: 'At the door (door-knocking)',
    staff: 'By staff (street, events, paper)', online: 'Online' };
  const NETWORK_TEXT = { key_individual: 'key individuals', iag: 'advisory group (IAG) members' };
  const analyses = { seq: 0, cache: new Map() };
  state.analyses = analyses;

  function kOf(disclosure) {
    const m = /^k=(\d+)$/.exec(String(disclosure || ''));
    return m ? Number(m[1]) : null;
  }

  function isNum(v) {
    return v !== null && v !== undefined && v !== '' && Number.isFinite(Number(v));
  }

  // toFixed without a "-" on a value that rounds to zero; "+" on a positive change.
  function dec(v, d) {
    const s = Number(v).toFixed(d);
    return Number(s) === 0 ? (0).toFixed(d) : s;
  }
  function signed(v, d) { const s = dec(v, d); return Number(s) > 0 ? '+' + s : s; }
  function whole(v) { return Number(v).toLocaleString('en-GB', { maximumFractionDigits: 0 }); }
  // A withheld count: "fewer than 10 answers*"; the "*" note above the sections says it may
  // also be a larger count withheld so as not to reveal a small one (secondary suppression).
  function withheld(k, what) { return `fewer than ${k}${what ? ' ' + what : ''}*`; }
  function upper(s) { return s ? s[0].toUpperCase() + s.slice(1) : s; }

  // A change's words from its 95% interval: within noise when the interval holds zero.
  function noiseWords(lo, hi) {
    if (!isNum(lo) || !isNum(hi)) return 'no interval';
    if (Number(lo) > 0) return 'a real rise';
    if (Number(hi) < 0) return 'a real fall';
    return 'within noise';
  }

  // "+0.02 (95% range -0.68 to +0.72): within noise" (head: what comes before the value).
  function changeText(head, c, lo, hi, d, tail) {
    return `${head}${signed(c, d)}${tail || ''} (95% range ${signed(lo, d)} to ` +
      `${signed(hi, d)}): ${noiseWords(lo, hi)}.`;
  }

  // One fact: a list item with the raw values as data attributes (for the browser test).
  function fact(name, text, data, sub) {
    const attrs = { 'data-fact': name };
    for (const [k, v] of Object.entries(data || {})) {
      attrs[`data-${k}`] = v === null || v === undefined ? 'null' : String(v);
    }
    return el('li', attrs, el('div', { text }),
      sub ? el('div', { class: 'reasons', text: sub }) : null);
  }

  function sectionNote(node, text, kind) {
    node.replaceChildren(el('p', { class: kind === 'error' ? 'message error' : 'hint',
      'data-state': kind || 'empty', text }));
  }

  // The areas the figures can be shown for: the beat, and a supervisor's npas (the parents
  // of their beats named in their areas claim; all their beats' parents when it names none).
  function analysisAreas() {
    const b = state.beat;
    const out = [{ id: b.id, level: 'beat',
      text: `This beat: ${b.properties.name || b.properties.code || b.id}` }];
    if (state.role !== 'supervisor') return out;
    const claimed = claim(state.claims || {}, state.config.auth.areas_claim);
    const named = new Set((Array.isArray(claimed) ? claimed : claimed ? [claimed] : []).map(String));
    const npas = new Map();
    for (const beat of state.beats) {
      const npa = beat.properties.parent_id;
      if (!npa || npas.has(npa)) continue;
      const code = String(npa).split(':').pop();
      if (!named.size || named.has(npa) || named.has(code)) npas.set(npa, code);
    }
    for (const [id, code] of npas) {
      const name = (state.npaNames || new Map()).get(id);
      out.push({ id, level: 'npa', text: `My area: ${name ? `${name} (${code})` : code}` });
    }
    return out;
  }

  function prepareAnalyses() {
    const areas = analysisAreas();
    const sel = $('analyses-area');
    sel.replaceChildren(...areas.map((a) => el('option', { value: a.id, 'data-level': a.level,
      text: a.text })));
    sel.value = state.beat.id;
    $('analyses-area-bar').hidden = areas.length < 2;
    if (!sel.dataset.bound) {
      sel.dataset.bound = '1';
      sel.addEventListener('change', () => { loadAnalyses(); });
      $('analyses-area-bar').addEventListener('submit', (ev) => ev.preventDefault());
    }
    loadAnalyses().catch((e) => message($('analyses-disclosure'),
      'Could not show the figures: ' + e.message, 'error'));
  }

  // The rows of a collection for one area (null: the collection is not published here).
  async function areaRows(collection, params) {
    if (!state.collections.has(collection)) return null;
    return features(collection, Object.assign({ skipGeometry: 'true' }, params));
  }

  // The process's answer for a level (every area of the caller's at that level), kept five
  // minutes for this sign-in only (another user's answer is never reused); null when the
  // service has no such process.
  async function channelRows(level) {
    const key = `${state.token}\n${level}`;
    const hit = analyses.cache.get(key);
    if (hit && Date.now() - hit.at < 300000) return hit.body;
    let body;
    try {
      body = await runProcess('priorities-by-group', { by: 'channel', level });
    } catch (e) {
      if (e.status === 404) return null;
      throw e;
    }
    for (const k of [...analyses.cache.keys()]) { // another sign-in's answers go
      if (!k.startsWith(`${state.token}\n`)) analyses.cache.delete(k);
    }
    analyses.cache.set(key, { at: Date.now(), body });
    return body;
  }

  async function networkRows(id, level) {
    const gaps = await areaRows('network_gaps', level === 'npa' ? { npa_id: id } : { area_id: id });
    if (gaps === null) return null;
    let groups = null;
    try {
      groups = await areaRows('network_groups', { by: 'class', area_level: level, area_id: id });
    } catch (e) {
      if (e.status === 401) throw e;
      groups = e; // shown as the error under the beats' figures
    }
    return { gaps, groups };
  }

  async function loadAnalyses() {
    const sel = $('analyses-area');
    const id = sel.value || state.beat.id;
    const level = sel.selectedOptions[0] ? sel.selectedOptions[0].dataset.level : 'beat';
    const seq = ++analyses.seq;
    const box = $('analyses');
    delete box.dataset.loaded;
    box.dataset.area = id;
    const disclosures = new Set();
    const run = async (node, load, render) => {
      sectionNote(node, 'Loading…', 'loading');
      let got;
      try {
        got = await load();
      } catch (e) {
        if (seq === analyses.seq && e.status !== 401) {
          sectionNote(node, `Could not read these figures: ${e.message}`, 'error');
        }
        return;
      }
      if (seq !== analyses.seq) return; // another area was chosen meanwhile
      if (got === null) sectionNote(node, 'Not published by this service.', 'unpublished');
      else render(node, got, disclosures);
    };
    await Promise.all([
      run($('an-confidence'), () => areaRows('area_confidence', { area_id: id }),
        (n, rows, d) => renderConfidence(n, rows[0], d)),
      run($('an-change'), () => areaRows('area_change', { area_id: id }),
        (n, rows, d) => renderChange(n, rows[0], d)),
      run($('an-network'), () => networkRows(id, level),
        (n, got, d) => renderNetwork(n, level, got, d)),
      run($('an-channels'), () => channelRows(level),
        (n, body, d) => renderChannels(n, id, body, d)),
    ]);
    if (seq !== analyses.seq) return;
    const ks = [...disclosures].filter((k) => k !== null);
    const note = $('analyses-disclosure');
    note.hidden = !ks.length;
    note.textContent = ks.length ? `* Withheld from partners and the public: a count under ` +
      `${Math.max(...ks)}, or a figure that would reveal one.` : '';
    box.dataset.loaded = id;
  }

  function renderConfidence(node, row, disclosures) {
    if (!row) { sectionNote(node, 'No confidence figures for this area yet.'); return; }
    const p = row.properties;
    const k = kOf(p.disclosure);
    disclosures.add(k);
    const score = (m, label) => {
      const n = p[`${m}_n`];
      const data = { value: p[m], low: p[`${m}_ci_low`], high: p[`${m}_ci_high`], n };
      if (!isNum(n) && k) {
        return fact(m, `${label}: ${withheld(k, 'answers')}`, Object.assign(data, { withheld: 1 }));
      }
      if (!isNum(p[m])) return fact(m, `${label}: no answers yet`, data);
      return fact(m, `${label}: ${dec(p[m], 2)} out of 5`, data,
        `95% range ${dec(p[`${m}_ci_low`], 2)} to ${dec(p[`${m}_ci_high`], 2)} · ` +
        `${whole(n)} answers`);
    };
    const outlier = (name, flag, z, inLine) => {
      const data = { flag, z };
      if (flag) return fact(name, `${upper(flag)}.`, data, `An outlier (z ${dec(z, 1)}).`);
      if (isNum(z)) return fact(name, `${inLine} (not an outlier).`, data, `z ${dec(z, 1)}`);
      if (k) {
        return fact(name, `${inLine}? Withheld*.`,
          Object.assign(data, { withheld: 1 }));
      }
      return fact(name, 'Not judged (too few areas or answers).', data);
    };
    let crimes;
    if (isNum(p.crimes)) {
      crimes = fact('crime', `Crime: ${whole(p.crimes)} recorded`,
        { value: p.crimes, rate: p.crime_rate },
        isNum(p.crime_rate) ? `${dec(p.crime_rate, 1)} per 1,000 households a year` : null);
    } else {
      crimes = fact('crime', `Crime: ${k ? withheld(k) : 'not known'}`,
        { value: null, withheld: k ? 1 : null });
    }
    node.replaceChildren(el('ul', { class: 'analysis' },
      score('confidence', 'Confidence in the police'), score('feel_safe', 'Feeling safe'), crimes,
      outlier('safe_outlier', p.safe_outlier, p.safe_z, 'Feeling safe is in line with its crime'),
      outlier('confidence_outlier', p.confidence_outlier, p.confidence_z,
        'Confidence is in line with feeling safe')));
  }

  function renderChange(node, row, disclosures) {
    if (!row) { sectionNote(node, 'No change figures for this area yet.'); return; }
    const p = row.properties;
    const k = kOf(p.disclosure);
    disclosures.add(k);
    if (!p.quarter_from) {
      sectionNote(node, `Only one quarter${p.quarter_to ? ` (${p.quarter_to})` : ''} so far: ` +
        'nothing to compare yet.', 'one-quarter');
      return;
    }
    const series = Array.isArray(p.series) ? p.series : [];
    const before = series.find((s) => s.quarter === p.quarter_from) || {};
    const measure = (m, label, d, trend) => {
      const c = [p[`${m}_change`], p[`${m}_change_ci_low`], p[`${m}_change_ci_high`]];
      const data = { value: p[m], before: before[m], change: c[0], low: c[1], high: c[2] };
      const now = isNum(p[m]) ? dec(p[m], d) : (k ? withheld(k) : 'none');
      const was = isNum(before[m]) ? `was ${dec(before[m], d)}`
        : (k ? 'before: withheld*' : 'none before');
      let sub;
      if (isNum(c[0])) {
        sub = changeText('Change ', c[0], c[1], c[2], d);
      } else if (k) {
        sub = 'Change withheld*.';
        data.withheld = 1;
      } else {
        sub = 'No change to show.';
      }
      if (trend) {
        const t = [p[`${m}_trend`], p[`${m}_trend_ci_low`], p[`${m}_trend_ci_high`]];
        data.trend = t[0];
        if (isNum(t[0]) && isNum(t[1])) sub += ' ' + changeText('Trend ', t[0], t[1], t[2], d, ' a quarter');
        else if (isNum(t[0])) sub += ` Trend ${signed(t[0], d)} a quarter (a range needs 3 quarters).`;
      }
      return fact(m, `${label}: ${now} (${was})`, data, sub);
    };
    const panel = (m, label) => {
      const [n, c, lo, hi] = ['n', 'change', 'ci_low', 'ci_high'].map((s) => p[`panel_${m}_${s}`]);
      const data = { n, change: c, low: lo, high: hi };
      const name = `panel_${m}`;
      if (!isNum(n)) {
        if (k) return fact(name, `${label}: ${withheld(k, 'people')}`, Object.assign(data, { withheld: 1 }));
        return fact(name, `${label}: nobody answered in both quarters`, data);
      }
      if (!isNum(c)) return fact(name, `${label}: ${whole(n)} people, no change to show`, data);
      return fact(name, `${label}: ${signed(c, 2)} from ${whole(n)} people`, data,
        `95% range ${signed(lo, 2)} to ${signed(hi, 2)}: ${noiseWords(lo, hi)}.`);
    };
    const answers = isNum(p.responses) ? whole(p.responses) : (k ? withheld(k) : 'no');
    node.replaceChildren(
      el('p', { 'data-fact': 'quarters', 'data-from': p.quarter_from, 'data-to': p.quarter_to,
        text: `${p.quarter_to} against ${p.quarter_from}: ${answers} survey answers in ${p.quarter_to}.` }),
      el('ul', { class: 'analysis' },
        measure('confidence', 'Confidence', 2, true), measure('feel_safe', 'Feeling safe', 2, true),
        measure('crimes', 'Crimes', 0, true),
        measure('members_per_100', 'Members per 100 households', 1, false)),
      el('p', { class: 'hint', text: `The same people asked in ${p.panel_first || p.quarter_from} ` +
        `and ${p.panel_second || p.quarter_to} (members who answered twice):` }),
      el('ul', { class: 'analysis' }, panel('confidence', 'Their confidence'),
        panel('feel_safe', 'Their feeling safe')));
  }

  // "3 key individuals (8.4 per 1,000 households)"; label is singular.
  function perThousand(count, rate, k, label) {
    if (!isNum(count)) return k ? withheld(k, label + 's') : `no ${label}s`;
    return `${whole(count)} ${label}${Number(count) === 1 ? '' : 's'}` +
      (isNum(rate) ? ` (${dec(rate, 1)} per 1,000 households)` : '');
  }

  function networkFact(p, named) {
    const k = kOf(p.disclosure);
    const name = named ? `${p.area_name || p.area_id}: ` : '';
    const data = { area: p.area_id, gap: p.no_key_individual, below: p.below_min,
      key_individual: p.key_individual, key_individual_per_1000: p.key_individual_per_1000,
      iag: p.iag, iag_per_1000: p.iag_per_1000 };
    let head;
    if (p.no_key_individual === true) head = 'No key individual network (no current key individual).';
    else if (p.below_min === true) head = `Gap: ${p.note || 'too few key individuals'}.`;
    else if (p.no_key_individual === false) head = 'Has a key individual network.';
    else head = `Key individual network: ${k ? 'withheld*' : 'not known'}.`;
    const li = fact('network', name + head, data,
      `${perThousand(p.key_individual, p.key_individual_per_1000, k, 'key individual')} · ` +
      `${perThousand(p.iag, p.iag_per_1000, k, 'IAG member')}`);
    if (p.no_key_individual === true || p.below_min === true) li.classList.add('gap');
    return li;
  }

  // Per network, the neighbourhood types (geodemographic classes) it under-represents.
  function groupsFact(net, rows) {
    const below = rows.filter((r) => r.network_member_below === true);
    let text;
    if (below.length) {
      text = `Fewer ${NETWORK_TEXT[net]} than the population suggests among: ` + below.map((r) =>
        `${r.group_name || r.group}` + (isNum(r.network_member_ratio)
          ? ` (${Math.round(100 * Number(r.network_member_ratio))}% of a fair share)` : '')).join(', ') + '.';
    } else if (rows.every((r) => !isNum(r.network_members) || Number(r.network_members) === 0) && rows[0].note) {
      text = `${upper(NETWORK_TEXT[net])}: ${rows[0].note}.`;
    } else {
      text = `No neighbourhood type is short of ${NETWORK_TEXT[net]}.`;
    }
    return el('li', { 'data-fact': `groups-${net}`, 'data-below': below.map((r) => r.group).join(','), text });
  }

  function renderNetwork(node, level, got, disclosures) {
    const gaps = got.gaps || [];
    for (const f of gaps) disclosures.add(kOf(f.properties.disclosure));
    const out = [];
    if (!gaps.length) {
      sectionNote(node, 'No key individual network figures for this area yet.');
      return;
    }
    if (level === 'npa') { // the beats without a network first
      const flagged = (f) => Number(f.properties.below_min === true);
      const rows = gaps.slice().sort((a, b) => flagged(b) - flagged(a) ||
        String(a.properties.area_id).localeCompare(String(b.properties.area_id)));
      const without = rows.filter((f) => f.properties.no_key_individual === true).length;
      out.push(el('p', { 'data-fact': 'network-summary', 'data-without': without,
        'data-beats': rows.length, text: `${without} of ${rows.length} beats have no key individual network.` }));
      out.push(el('ul', { class: 'analysis' }, ...rows.map((f) => networkFact(f.properties, true))));
    } else {
      out.push(el('ul', { class: 'analysis' }, networkFact(gaps[0].properties, false)));
    }
    const groups = got.groups;
    if (groups instanceof Error) {
      out.push(el('p', { class: 'message error',
        text: `Could not read the networks against the population: ${groups.message}` }));
    } else if (Array.isArray(groups) && groups.length) {
      for (const f of groups) disclosures.add(kOf(f.properties.disclosure));
      const lines = Object.keys(NETWORK_TEXT).map((net) => {
        const rows = groups.filter((f) => f.properties.network === net).map((f) => f.properties);
        return rows.length ? groupsFact(net, rows) : null;
      }).filter(Boolean);
      if (lines.length) {
        out.push(el('p', { class: 'hint', text: 'Against the households by neighbourhood type:' }),
          el('ul', { class: 'analysis' }, ...lines));
      }
    }
    node.replaceChildren(...out);
  }

  function channelItem(r, pri, s, k, minN) {
    const count = (v, what) => (isNum(v) ? `${whole(v)} ${what}` : k ? withheld(k, what) : `no ${what}`);
    const enough = pri.some((x) => x.enough === true);
    // The service's order (votes, then name) within a rank; the top three named.
    const top = pri.filter((x) => isNum(x.votes) && Number(x.votes) > 0)
      .sort((a, b) => Number(a.rank) - Number(b.rank)).slice(0, 3);
    const pct = (v) => Math.round(100 * Number(v));
    const lines = [];
    if (!enough) {
      lines.push(`Too few answers to rank priorities (under ${minN}).`);
    } else if (top.length) {
      lines.push('Top: ' + top.map((x) => `${x.label} ${pct(x.share)}% (${pct(x.ci_low)}–${pct(x.ci_high)}%)`)
        .join('; ') + (isNum(top[0].n) ? ` of ${whole(top[0].n)} who named one` : '') + '.');
    } else if (pri.some((x) => x.votes === null)) {
      lines.push('Priorities withheld*.');
    }
    for (const [m, label] of [['confidence', 'Confidence'], ['feel_safe', 'Feeling safe']]) {
      if (isNum(s[m])) {
        lines.push(`${label} ${dec(s[m], 2)} (${dec(s[`${m}_ci_low`], 2)} to ` +
          `${dec(s[`${m}_ci_high`], 2)}), ${whole(s[`${m}_n`])} answers.`);
      } else if (k && !isNum(s[`${m}_n`])) {
        lines.push(`${label}: ${withheld(k, 'answers')}.`);
      }
    }
    const data = (v) => (v === null || v === undefined ? 'null' : String(v));
    return el('li', { 'data-fact': 'channel', 'data-group': r.group, 'data-people': data(r.people),
      'data-responses': data(r.responses), 'data-issues': data(r.issues),
      'data-top': top.map((x) => `${x.priority}:${x.votes}`).join(','),
      'data-confidence': data(s.confidence),
      'data-withheld': r.people === null || r.responses === null ? '1' : null },
    el('div', { class: 'name', text: CHANNEL_TEXT[r.group] || String(r.group).replace(/_/g, ' ') }),
    el('div', { text: `${count(r.people, 'people')} · ${count(r.responses, 'responses')} · ` +
      `${count(r.issues, 'issues raised')}` }),
    ...lines.map((t) => el('div', { class: 'reasons', text: t })));
  }

  function renderChannels(node, id, body, disclosures) {
    const k = kOf(body.disclosure);
    disclosures.add(k);
    const mine = (key) => (body[key] || []).filter((r) => r.area_id === id);
    const people = mine('people');
    if (!people.length) { sectionNote(node, 'No survey answers by channel for this area yet.'); return; }
    const pri = mine('priorities');
    const scores = mine('scores');
    node.replaceChildren(el('p', { class: 'hint', text: 'People are distinct people (a member ' +
      'who answered twice counts once); responses are every survey answered.' }),
    el('ul', { class: 'analysis channels' }, ...people.map((r) => channelItem(r,
      pri.filter((x) => x.group === r.group), scores.find((x) => x.group === r.group) || {},
      k, body.min_n || 10))));
  }

  // ---------------------------------------------------------------- messages (issue 10)
  // Compose a message to my beat and preview its reach, send it, read and answer replies
  // (urgent first), record an action, and the survey and registration taken at the door.
  // Every rule (reach, cap, consent, scope) is the service's; the page shows its answers.
  const KIND_TEXT = { update: 'Update', you_said_we_did: 'You said, we did',
    survey: 'Survey invitation', appeal: 'Appeal for information' };
  const HELD_TEXT = { cap: 'already had their messages for now (frequency cap)',
    consent: 'have not consented to hear from us', opted_out: 'have opted out',
    no_contact: 'have no usable email address' };
  const engage = { config: null };
  state.engage = engage;

  async function runProcess(id, inputs, headers) {
    const resp = await api(`/processes/${encodeURIComponent(id)}/execution`, { method: 'POST',
      headers: Object.assign({ 'Content-Type': 'application/json', Accept: 'application/json' },
        headers || {}), body: JSON.stringify({ inputs }) });
    return resp.json();
  }

  function engagePurpose(what) { return `${what} for beat ${beatCode()}`; }

  function today() { return localNow().slice(0, 10); }

  async function setupMessages() {
    try {
      const resp = await fetch('/engage/config.json');
      engage.config = resp.ok ? await resp.json() : null;
    } catch (e) { engage.config = null; }
    const tab = document.querySelector('.tabs button[data-tab=messages]');
    if (!engage.config) { tab.hidden = true; $('door').hidden = true; return; }
    $('msg-kind').replaceChildren(...engage.config.kinds.map((k) =>
      el('option', { value: k, text: KIND_TEXT[k] || k })));
    $('msg-kind').addEventListener('change', () => {
      $('msg-draft').hidden = $('msg-kind').value !== 'you_said_we_did';
    });
    $('msg-draft').addEventListener('click', draftYouSaid);
    $('msg-form').addEventListener('submit', composeMessage);
    for (const id of ['msg-kind', 'msg-subject', 'msg-text']) {
      $(id).addEventListener('input', () => { $('msg-preview').hidden = true; });
    }
    $('msg-send').addEventListener('click', sendMessage);
    $('replies-refresh').addEventListener('click', loadReplies);
    $('action-form').addEventListener('submit', recordAction);
    $('action-date').value = today();
    const vocabulary = (engage.config.survey || []).find((q) => q.name === 'priorities');
    $('action-priority').replaceChildren(el('option', { value: '', text: '– choose –' }),
      ...((vocabulary && vocabulary.options) || []).map(([v, t]) => el('option', { value: v, text: t })));
    renderDoorSurvey(engage.config.survey || []);
    $('door-survey-on').addEventListener('change', () => { $('door-survey').hidden = !$('door-survey-on').checked; });
    $('door-register-on').addEventListener('change', () => {
      $('door-register').hidden = !$('door-register-on').checked;
      $('reg-consent').required = $('door-register-on').checked;
    });
  }

  async function loadMessagesPanel() {
    if (!engage.config) return;
    await Promise.all([loadReplies(), loadActions()]);
  }

  async function draftYouSaid() {
    const result = $('msg-result');
    message(result, 'Drafting…');
    try {
      const d = await runProcess('you-said-we-did-draft', { area: state.beat.id });
      $('msg-subject').value = d.subject || '';
      $('msg-text').value = d.text || '';
      $('msg-preview').hidden = true;
      message(result, 'Draft filled in: edit it before you preview and send.', 'ok');
    } catch (e) {
      if (e.status !== 401) message(result, 'No draft: ' + e.message, 'error');
    }
  }

  async function composeMessage(ev) {
    ev.preventDefault();
    const result = $('msg-result');
    message(result, 'Working out who it reaches…');
    $('msg-preview').hidden = true;
    try {
      const p = await runProcess('compose-message', { kind: $('msg-kind').value,
        subject: $('msg-subject').value, text: $('msg-text').value, area: state.beat.id });
      const box = $('msg-preview');
      box.dataset.messageId = p.message_id;
      box.dataset.recipients = String(p.recipients);
      $('msg-reach').textContent = `Reaches ${p.recipients} member${p.recipients === 1 ? '' : 's'} in ${beatCode()}.`;
      const held = Object.entries(p.held_back || {}).filter(([, n]) => n > 0);
      $('msg-held').replaceChildren(...(held.length ? held.map(([k, n]) =>
        el('li', { 'data-reason': k, text: `${n} held back: ${HELD_TEXT[k] || k}` }))
        : [el('li', { text: 'Nobody held back.' })]));
      $('msg-send').textContent = `Send to ${p.recipients}`;
      $('msg-send').disabled = !(p.recipients > 0);
      box.hidden = false;
      message(result, '');
    } catch (e) {
      if (e.status !== 401) message(result, 'Not prepared: ' + e.message, 'error');
    }
  }

  async function sendMessage() {
    const box = $('msg-preview');
    const result = $('msg-result');
    $('msg-send').disabled = true;
    message(result, 'Sending…');
    try {
      const r = await runProcess('send-message', { message_id: box.dataset.messageId });
      result.dataset.sent = String(r.sent);
      result.dataset.messageId = r.message_id;
      const more = [r.failed ? `${r.failed} failed` : null, r.retried ? `${r.retried} to retry` : null,
        r.uncertain ? `${r.uncertain} uncertain` : null].filter(Boolean);
      message(result, `Sent to ${r.sent}${more.length ? ' (' + more.join(', ') + ')' : ''}.`, 'ok');
      box.hidden = true;
      $('msg-subject').value = ''; $('msg-text').value = '';
    } catch (e) {
      $('msg-send').disabled = false;
      if (e.status !== 401) message(result, 'Not sent: ' + e.message, 'error');
    }
  }

  async function loadReplies() {
    const list = $('reply-list');
    let rows;
    try {
      rows = await features('replies', {}, { 'X-Purpose': engagePurpose('Reading residents\' replies') });
    } catch (e) {
      if (e.status !== 401) message($('replies-message'), 'Could not read replies: ' + e.message, 'error');
      return;
    }
    message($('replies-message'), rows.length ? '' : 'No replies yet.');
    list.dataset.count = String(rows.length);
    list.replaceChildren(...rows.map((f) => {
      const p = f.properties;
      const li = el('li', { 'data-reply-id': f.id, class: p.urgent ? 'urgent' : null },
        p.urgent ? el('div', { class: 'tag', text: `Urgent${p.urgent_words ? ': ' + p.urgent_words : ''} – act now` }) : null,
        el('div', { class: 'name', text: `Re: ${p.subject || p.message_id}` }),
        el('div', { class: 'reasons', text: `${(p.received_at || '').replace('T', ' ')} · ${p.area_id || ''}` }),
        el('div', { class: 'text', text: p.text || '' }));
      if (p.answer) {
        li.append(el('div', { class: 'answer', text: `Answered by ${p.answered_by}: ${p.answer}` }));
      } else {
        const area = el('textarea', { rows: '2', 'aria-label': 'Answer', required: true });
        const form = el('form', { class: 'answer-form' }, area,
          el('button', { type: 'submit', text: 'Answer' }));
        form.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          try {
            await runProcess('answer-reply', { reply_id: f.id, answer: area.value },
              { 'X-Purpose': engagePurpose('Answering a resident\'s reply') });
            await loadReplies();
          } catch (e) {
            if (e.status !== 401) message($('replies-message'), 'Not answered: ' + e.message, 'error');
          }
        });
        li.append(form);
      }
      return li;
    }));
  }

  async function recordAction(ev) {
    ev.preventDefault();
    const result = $('action-result');
    message(result, 'Saving…');
    const inputs = { done_on: $('action-date').value, priority: $('action-priority').value,
      area: state.beat.id, what: $('action-what').value };
    if ($('action-partner').value.trim()) inputs.partner = $('action-partner').value.trim();
    try {
      const r = await runProcess('record-action', inputs);
      result.dataset.actionId = r.action_id;
      message(result, `Action recorded (${r.action_id}).`, 'ok');
      $('action-what').value = ''; $('action-partner').value = '';
      await loadActions();
    } catch (e) {
      if (e.status !== 401) message(result, 'Not recorded: ' + e.message, 'error');
    }
  }

  async function loadActions() {
    let rows;
    // The beat's actions and those of the areas above it (the service's order: newest first).
    try { rows = await features('actions', {}); } catch (e) { return; }
    $('action-list').replaceChildren(...(rows.length ? rows.map((f) => {
      const p = f.properties;
      return el('li', { 'data-action-id': f.id },
        el('div', { class: 'name', text: `${p.done_on} · ${p.label || p.priority}` }),
        el('div', { class: 'what', text: p.what }),
        el('div', { class: 'reasons', text: `${p.area_name || p.area_id} · ${p.partner ? 'with ' + p.partner : 'police'}` }));
    }) : [el('li', { text: 'No actions recorded for this beat yet.' })]));
  }

  // The survey at the door: the same questions as the online survey (from the service):
  // 'choose' up to q.max options, 'scale' one option, 'text' free text.
  function renderDoorSurvey(questions) {
    engage.questions = questions;
    $('door-survey').replaceChildren(...questions.map((q) => {
      const id = String(q.name);
      if (q.type === 'choose' || q.type === 'scale') {
        const many = q.type === 'choose';
        const set = el('fieldset', { class: 'door-q', 'data-q': id },
          el('legend', { text: q.label }),
          ...(q.options || []).map(([v, t]) => el('label', null,
            el('input', { type: many ? 'checkbox' : 'radio', name: `door-${id}`, value: String(v) }),
            String(t))));
        if (many && q.max) {
          const boxes = () => Array.from(set.querySelectorAll('input'));
          set.addEventListener('change', () => {
            const n = boxes().filter((b) => b.checked).length;
            for (const b of boxes()) b.disabled = !b.checked && n >= q.max;
          });
        }
        return set;
      }
      return el('fieldset', { class: 'door-q', 'data-q': id }, el('legend', { text: q.label }),
        el('textarea', { name: `door-${id}`, rows: '2', 'aria-label': q.label }));
    }));
    // Only if the resident chooses to say: kept with the answer, for representation.
    const about = engage.config.demographics || {};
    const names = { gender: 'Gender', age_band: 'Age band', ethnicity: 'Ethnic group' };
    const box = el('fieldset', { class: 'door-q', 'data-q': 'about' },
      el('legend', { text: 'About them (optional: only if they choose to say)' }));
    for (const [key, values] of Object.entries(about)) {
      box.append(el('label', { for: `door-${key}`, text: names[key] || key }),
        el('select', { id: `door-${key}`, name: `door-${key}` },
          el('option', { value: '', text: '– not given –' }),
          ...values.map((v) => el('option', { value: v, text: v.replace(/_/g, ' ') }))));
    }
    if (Object.keys(about).length) $('door-survey').append(box);
  }

  function doorAnswers() {
    const out = {};
    for (const q of engage.questions || []) {
      const id = String(q.name);
      const inputs = Array.from(document.getElementsByName(`door-${id}`));
      if (q.type === 'choose') {
        const got = inputs.filter((i) => i.checked).map((i) => i.value);
        if (got.length) out[id] = got;
      } else if (q.type === 'scale') {
        const got = inputs.find((i) => i.checked);
        if (got) out[id] = Number(got.value);
      } else if (inputs[0] && inputs[0].value.trim()) {
        out[id] = inputs[0].value.trim();
      }
    }
    for (const key of Object.keys(engage.config.demographics || {})) {
      const v = $(`door-${key}`) && $(`door-${key}`).value;
      if (v) out[key] = v;
    }
    return out;
  }

  // What the door part of the visit form holds (null: nothing taken at the door).
  function doorInputs() {
    if (!engage.config) return null;
    const survey = $('door-survey-on').checked;
    const register = $('door-register-on').checked;
    if (!survey && !register) return null;
    const out = { answers: survey ? doorAnswers() : {} };
    if (register) {
      // A registration is sent only when the resident agreed to the statement read out
      // (the select is required while "register" is ticked).
      if ($('reg-consent').value !== 'agreed') return { refused: true };
      out.registration = {};
      if ($('reg-organisation').value.trim()) out.registration.organisation = $('reg-organisation').value.trim();
      if ($('reg-email').value.trim()) out.registration.email = $('reg-email').value.trim();
      if ($('reg-mobile').value.trim()) out.registration.mobile = $('reg-mobile').value.trim();
    }
    return out;
  }

  async function recordDoor(visitId, uprn, door, result) {
    const base = result.textContent;
    try {
      const inputs = { visit_id: visitId, uprn, answers: door.answers };
      if (door.registration) inputs.registration = door.registration;
      const r = await runProcess('door-survey', inputs, { 'X-Purpose': $('visit-purpose').value.trim() });
      state.doorPending = null;
      result.dataset.responseId = r.response_id || '';
      message(result, `${base.startsWith('Visit') ? base + ' ' : ''}Door survey recorded` +
        `${r.registered ? ' with the registration' : ''}.`, 'ok');
      for (const i of document.querySelectorAll('#door input, #door textarea, #door-survey select')) {
        if (i.type === 'checkbox' || i.type === 'radio') i.checked = false; else i.value = '';
      }
      $('reg-consent').value = '';
      $('door-survey').hidden = true; $('door-register').hidden = true;
    } catch (e) {
      if (e.status === 401) return;
      state.doorPending = { visitId, uprn };
      message(result, `Visit ${visitId} is recorded, but not what was taken at the door: ` +
        `${e.message}. Correct it and press "Record visit" again.`, 'error');
    }
  }

  // ---------------------------------------------------------------- progress (supervisors)
  // Live set-ups against their targets, beats falling behind, per officer and per day, and
  // the headline: the service's progress_* collections (the rule and the scope are the
  // core's). Shown to supervisors and analysts.
  const PROGRESS_ROLES = ['supervisor', 'force_analyst'];
  const PROGRESS_PURPOSE = { 'X-Purpose': 'Supervising targeting set-ups' };

  function prepareProgress() {
    const tab = document.querySelector('.tabs button[data-tab=progress]');
    tab.hidden = !(PROGRESS_ROLES.includes(state.role) && state.collections.has('progress_setups'));
    if (!$('progress-form').dataset.bound) {
      $('progress-form').dataset.bound = '1';
      $('progress-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadProgress(); });
    }
  }

  function pct(v) { return Number.isFinite(Number(v)) && v !== null ? `${Math.round(100 * Number(v))}%` : '–'; }
  function num(v) { return v === null || v === undefined ? 'withheld' : Number(v).toLocaleString('en-GB'); }

  function progressBar(label, done, target, elapsed, behind) {
    const share = target > 0 ? done / target : 0;
    const bar = el('div', { class: 'pbar' + (behind ? ' behind' : ''), role: 'progressbar',
      'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100',
      'aria-valuenow': String(Math.round(100 * Math.min(share, 1))) });
    const fill = el('span', { class: 'fill' });
    fill.style.width = `${Math.min(100, 100 * share)}%`;
    const mark = el('span', { class: 'pace', title: 'where it should be by now' });
    mark.style.left = `${Math.min(100, 100 * (Number(elapsed) || 0))}%`;
    bar.append(fill, mark);
    return el('div', { class: 'measure', 'data-measure': label },
      el('div', { class: 'reasons', text: `${label}: ${num(done)} of ${num(Math.round(target))} (${pct(share)})${behind ? ' · behind' : ''}` }), bar);
  }

  function measuresOf(p) {
    const out = [];
    const behind = new Set(p.behind_on || []);
    const add = (name, label, done) => {
      const t = p[`target_${name}`];
      if (t !== null && t !== undefined) out.push(progressBar(label, done, Number(t), p.elapsed, behind.has(name)));
    };
    add('visits', 'visits', p.visits);
    add('registrations', 'registered', p.registered);
    add('surveys', 'surveyed', (p.surveyed || 0) + (p.surveyed_online || 0));
    if (!out.length) out.push(progressBar('households', p.households_visited, p.households, p.elapsed, behind.has('households')));
    return out;
  }

  function table(node, columns, rows) {
    node.replaceChildren(el('thead', null, el('tr', null, ...columns.map(([, t]) => el('th', { text: t })))),
      el('tbody', null, ...rows.map((r) => el('tr', null, ...columns.map(([k]) => el('td', { text: r[k] === null || r[k] === undefined ? '' : String(r[k]) }))))));
    node.dataset.count = String(rows.length);
  }

  async function loadProgress() {
    const msg = $('progress-message');
    const since = $('progress-since').value;
    const q = since ? { since } : {};
    delete $('progress-setups').dataset.count;
    message(msg, 'Loading…');
    let head, setups, beats, officers, days;
    try {
      [head, setups, beats, officers, days] = await Promise.all([
        features('progress_headline', q), features('progress_setups', {}),
        features('progress_beats', { behind: 'true' }),
        features('progress_officers', q, PROGRESS_PURPOSE), features('progress_days', q)]);
    } catch (e) {
      if (e.status !== 401) message(msg, 'Could not read progress: ' + e.message, 'error');
      return;
    }
    message(msg, '');
    const h = (head[0] || {}).properties || {};
    $('progress-headline').textContent = `${num(h.households_visited)} houses visited, ` +
      `${num(h.registered)} registered (${num(h.joined)} now members), ${num(h.surveyed)} surveyed at the door` +
      ` and ${num(h.surveyed_online)} online later — ${h.since ? 'since ' + h.since : 'all recorded visits'}` +
      `${h.scope === 'your areas' ? ', in your areas' : ''}.`;
    $('progress-headline').dataset.households = String(h.households_visited);
    const rule = setups.length ? setups[0].properties.rule : '';
    $('progress-rule').textContent = 'The marker on each bar is where it should be by now ' +
      `(the share of the set-up's period elapsed)${rule ? '; ' + rule : ''}.`;
    setups.sort((a, b) => String(a.properties.created_at).localeCompare(String(b.properties.created_at)));
    $('progress-setups').replaceChildren(...(setups.length ? setups.map((f) => {
      const p = f.properties;
      return el('li', { 'data-setup-id': f.id, class: p.behind ? 'behind' : null },
        el('div', null,
          el('div', { class: 'name', text: `${p.name} (${f.id})` }),
          el('div', { class: 'reasons', text: `${p.goal} · day ${Math.floor(p.days_elapsed || 0)}, ${pct(p.elapsed)} of the period · ` +
            `${num(p.households_visited)} of ${num(p.households)} households visited` +
            `${p.beats_behind ? ` · ${p.beats_behind} beat${p.beats_behind === 1 ? '' : 's'} behind` : ''}` }),
          ...measuresOf(p)));
    }) : [el('li', { text: 'No live set-up in your areas.' })]));
    $('progress-setups').dataset.count = String(setups.length);
    const behind = beats.filter((f) => f.properties.behind);
    $('progress-behind').replaceChildren(...(behind.length ? behind.map((f) => {
      const p = f.properties;
      return el('li', { 'data-beat-id': p.beat_id, 'data-setup-id': p.setup_id, class: 'behind' },
        el('div', null,
          el('div', { class: 'name', text: `${p.beat_id} · ${p.setup_name}` }),
          el('div', { class: 'reasons', text: `behind on ${(p.behind_on || []).join(', ')} · ${num(p.households_visited)} of ${num(p.households)} households visited` }),
          ...measuresOf(p)));
    }) : [el('li', { text: 'No beat is falling behind.' })]));
    $('progress-behind').dataset.count = String(behind.length);
    table($('progress-officers'), [['setup_id', 'Set-up'], ['officer', 'Officer'], ['visits', 'Visits'],
      ['registered', 'Reg.'], ['joined', 'Joined'], ['surveyed', 'Surv.'], ['days_out', 'Days']],
    officers.map((f) => f.properties));
    days.sort((a, b) => String(b.properties.day).localeCompare(String(a.properties.day)));
    table($('progress-days'), [['day', 'Day'], ['setup_id', 'Set-up'], ['visits', 'Visits'],
      ['registered', 'Reg.'], ['surveyed', 'Surv.'], ['officers', 'Officers']],
    days.map((f) => f.properties));
  }

  // ---------------------------------------------------------------- tabs and start
  function selectTab(name) {
    for (const b of document.querySelectorAll('.tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
    for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== 'tab-' + name;
    if (name === 'progress') loadProgress();
  }

  function renderAttributions() {
    $('attribution').replaceChildren(el('p', { text: 'Data:' }),
      ...state.config.attributions.map((a) => el('p', { text: a })),
      el('p', { text: 'Map: Leaflet (BSD-2-Clause). No base map: streets and areas only.' }));
  }

  async function start() {
    state.config = await (await fetch('/app/config.json')).json();
    document.title = `My beat · ${state.config.title}`;
    renderAttributions();
    $('visit-outcome').replaceChildren(...Object.entries(state.config.outcomes).map(([k, v]) =>
      el('option', { value: k, text: v })));
    $('visit-when').value = localNow();
    for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => selectTab(b.dataset.tab));
    $('visit-form').addEventListener('submit', recordVisit);
    await setupMessages();
    await setupSignIn();
    let token = null;
    try { token = await finishPkce(); } catch (e) { showSignIn('Sign-in failed: ' + e.message); }
    token = token || currentToken();
    if (token) await signedIn(token); else if ($('main').hidden) showSignIn($('signin-message').textContent);
    state.ready = true;
    document.body.dataset.ready = '1';
  }

  document.addEventListener('DOMContentLoaded', () => {
    start().catch((e) => { showSignIn('The page could not start: ' + e.message); document.body.dataset.ready = '1'; });
  });
})();
