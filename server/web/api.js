// The server's API: JSON requests with the credential, errors as ApiError with the server's message,
// 401 → sign in and retry, uploads through XMLHttpRequest (fetch reports no upload progress).
import { authorizationHeader, signIn } from './signin.js';

export class ApiError extends Error {
  constructor(message, { status = 0, type = '', code = '', retryAfter = null } = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// Retry-After: seconds, or an HTTP date.
export function retryAfterSeconds(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

export function unreachable() {
  return new ApiError('The pg_rag server cannot be reached. Is it running? (make run starts it.)', {
    code: 'unreachable',
  });
}

function errorFromBody(body, status, retryAfter) {
  const e = (body && body.error) || {};
  return new ApiError(e.message || `the server answered ${status}`, {
    status, type: e.type || '', code: e.code || '', retryAfter,
  });
}

async function errorFrom(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: a proxy's page, say
  }
  return errorFromBody(body, res.status, retryAfterSeconds(res.headers.get('Retry-After')));
}

// A streamed error event ({message, type, code}) as an ApiError with the status its type stands for.
export function streamError(data) {
  const statusOfType = { provider_error: 502, timeout_error: 504, unavailable_error: 503, permission_error: 403 };
  return new ApiError(data.message || 'the answer failed', {
    status: statusOfType[data.type] || 500, type: data.type || '', code: data.code || '',
  });
}

export async function request(method, path, { body, signal, accept = 'application/json' } = {}) {
  for (;;) {
    const headers = { Accept: accept, ...authorizationHeader() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method, headers, signal, cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (signal && signal.aborted) throw err;
      throw unreachable();
    }
    if (res.status === 401) {
      const refused = await errorFrom(res);
      try {
        await signIn(refused.message);
      } catch {
        throw refused;
      }
      continue;
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }
}

export async function requestJson(method, path, options) {
  const res = await request(method, path, options);
  return res.json();
}

// Uploads one file as multipart/form-data; onProgress(fraction) as it is sent. Resolves with {id, chunks}.
export function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const send = () => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/documents');
      for (const [name, value] of Object.entries(authorizationHeader())) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener('load', () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // not JSON
        }
        if (xhr.status === 401) {
          signIn(body && body.error && body.error.message).then(send, () => reject(errorFromBody(body, 401, null)));
          return;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve(body);
          return;
        }
        reject(errorFromBody(body, xhr.status, retryAfterSeconds(xhr.getResponseHeader('Retry-After'))));
      });
      xhr.addEventListener('error', () => reject(unreachable()));
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    };
    send();
  });
}

// What a person should read for an error.
export function describe(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err && err.message ? err.message : err}`;
  const message = err.message.replace(/\.$/, '');
  const sentence = message.charAt(0).toUpperCase() + message.slice(1);
  const wait = err.retryAfter !== null ? ` Try again in ${err.retryAfter} s.` : '';
  switch (err.status) {
    case 0:
      return err.message;
    case 401:
      return `Sign-in needed: ${message}.`;
    case 403:
      return `Not allowed: ${message}.`;
    case 413:
      return `Too large for this server: ${message}.`;
    case 415:
      return `Unsupported file: ${message}.`;
    case 429:
      return `Too many requests.${wait || ' Try again in a moment.'}`;
    case 502:
      return `The language model provider failed: ${message}.`;
    case 503:
      return `The server is unavailable: ${message}.${wait}`;
    case 504:
      return `The answer took too long: ${message}.`;
    default:
      return `${sentence}.`;
  }
}
