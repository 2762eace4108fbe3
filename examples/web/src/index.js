import "./style.css";
import { statusLine } from "./status.js";

const apiRoot = process.env.REACT_APP_API_ROOT;

async function main() {
  const root = document.getElementById("root");
  try {
    const response = await fetch(`${apiRoot}/status/`);
    root.textContent = statusLine(apiRoot, response.status, await response.json());
  } catch (err) {
    root.textContent = `Know Me: the API at ${apiRoot} is unreachable (${err.message})`;
  }
}

main();
