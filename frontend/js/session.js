// The JWT lives in sessionStorage; its payload is decoded only to drive the UI (id, role, expiry).
const TOKEN_KEY = "hrp.token";
const PROFILE_KEY = "hrp.profile";

export function decodeClaims(token) {
  try {
    const part = token.split(".")[1];
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64.padEnd(Math.ceil(base64.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function saveProfile(profile) {
  sessionStorage.setItem(PROFILE_KEY, JSON.stringify(profile));
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(PROFILE_KEY);
}

export function currentToken() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  const claims = decodeClaims(token);
  if (!claims || !claims.sub || (claims.exp && claims.exp * 1000 <= Date.now())) {
    clearSession();
    return null;
  }
  return token;
}

/** {id, role, token, profile} of the signed-in user, or null. */
export function currentUser() {
  const token = currentToken();
  if (!token) return null;
  const claims = decodeClaims(token);
  let profile = null;
  try {
    profile = JSON.parse(sessionStorage.getItem(PROFILE_KEY) || "null");
  } catch {
    profile = null;
  }
  return { id: Number(claims.sub), role: claims.role || "user", token, profile };
}
