// statusLine renders the API's /status/ answer for people.
export function statusLine(apiRoot, httpStatus, body) {
  if (httpStatus === 200) {
    return `Know Me: API ${apiRoot} is up, version ${body.version}`;
  }
  return `Know Me: API ${apiRoot} is not ready (${body.status || httpStatus})`;
}
