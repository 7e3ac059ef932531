// Readable by an elderly person on a cheap phone: on each screen of a
// passenger and a driver, at 360 px wide (then on a desktop), every button, link and field is
// at least 48 × 48 CSS px, no text is smaller than 16 px, and axe-core
// finds nothing critical or serious.
// Usage: node targets.mjs <base-url> <screenshot-dir> <passenger contact> <booking id> <need id> <trip id>
//        node targets.mjs <base-url> <screenshot-dir> <relay contact> relay <need id>
//        node targets.mjs <base-url> <screenshot-dir> <coordinator contact> coordinator
import { AxeBuilder } from "@axe-core/playwright";
import { launch, newPage, openPerson, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, contact, booking, ...ids] = process.argv.slice(2);
const browser = await launch(shots);
const mode = booking === "coordinator" || booking === "relay" ? booking : "person";
const shot = shooter(shots, `targets-${mode}-`);

// What on the screen is too small: targets under 48 px, text under 16 px.
async function tooSmall(page) {
  return page.evaluate(() => {
    const found = [];
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      return r.width > 0 && r.height > 0 && style.visibility !== "hidden" && style.display !== "none";
    };
    const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} « ${(el.textContent || el.value || el.type || "").trim().slice(0, 40)} »`;
    for (const el of document.querySelectorAll("#main button, #main a[href], #main input, #main select, #main textarea, #main [role=button]")) {
      if (!visible(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width < 47.5 || r.height < 47.5) found.push(`target ${name(el)}: ${r.width.toFixed(1)} × ${r.height.toFixed(1)} px`);
    }
    const walker = document.createTreeWalker(document.getElementById("main"), NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const text = walker.currentNode;
      const el = text.parentElement;
      if (!text.textContent.trim() || !el || el.closest("svg, style, script") || !visible(el)) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < 16) found.push(`text ${name(el)}: ${size} px`);
    }
    // Machine text where a person reads: ISO dates and months, UTC
    // times, dots in decimals, international phone numbers, role codes.
    const said = document.getElementById("main").innerText;
    const machine = [
      [/\b\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?\b/, "an ISO date"],
      [/\b(19|20)\d{2}-\d{2}\b/, "an ISO month"],
      [/\b\d+\.\d+ ?(km|kg|%|h)\b/, "a decimal point"],
      [/\+33 ?\d{9}\b/, "an international phone number"],
      [/\((coordinator|relay|admin|driver|passenger)\)|(?<!\p{L})(phone|email|push|sms)(?!\p{L})/u, "a code in English"],
      [/\b\d{2}\/\d{2}(\/\d{4})?\b/, "a date in figures"],
      [/\b\d{2}:\d{2}\b/, "a clock time in figures"],
    ];
    for (const [pattern, what] of machine) {
      const match = said.match(pattern);
      if (match) found.push(`text: ${what}, « ${match[0]} »`);
    }
    return found;
  });
}

const problems = [];
async function check(page, screen, prepare, stay = false) {
  if (!stay) await page.goto(base + screen);
  await page.waitForSelector("#main h1", { timeout });
  if (prepare) await prepare(page);
  await page.waitForTimeout(300);
  await shot(page, screen.replaceAll("/", "_") || "home");
  for (const problem of await tooSmall(page)) problems.push(`${screen}: ${problem}`);
  const { violations, passes } = await new AxeBuilder({ page }).analyze();
  if (!passes.length) problems.push(`${screen}: axe-core checked nothing`);
  for (const v of violations.filter((v) => v.impact === "critical" || v.impact === "serious")) {
    const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ");
    problems.push(`${screen}: axe ${v.impact} ${v.id} — ${v.help} (${where})`);
  }
}

async function coordinator(page) {
  await check(page, "/coordination");
  await check(page, "/coordination/tableau");
  await check(page, "/coordination/impact", async (p) => p.waitForSelector("#impact-csv", { timeout }));
  await check(page, "/coordination/utilisation", async (p) => p.waitForSelector("#usage-csv", { timeout }));
  await page.click("#usage-months");
  await page.waitForSelector('#usage-months[aria-pressed="true"]', { timeout });
  await page.waitForSelector("text=Mois par mois", { timeout });
  await check(page, "/coordination/utilisation (par mois)", null, true);
  await check(page, "/coordination/avis");
  await check(page, "/coordination/carte", async (p) => p.waitForSelector(".map svg", { timeout }));
  await theMap(page);
  await check(page, "/coordination/registre");
  await check(page, "/coordination/equipe", async (p) => p.waitForSelector("text=L'équipe", { timeout }));
  await check(page, "/coordination/journal");
}

// The map names its main towns, draws the territory's outline, has a
// legend readable on a phone, and shows which trips and needs a corridor
// of the unmet demand is about.
async function theMap(page) {
  const map = page.locator("#territory-map svg");
  const towns = await map.locator("text.town").allTextContents();
  for (const town of ["Cahors", "Figeac"]) {
    if (!towns.includes(town)) problems.push(`map: « ${town} » not named (${towns.join(", ")})`);
  }
  if (!(await map.locator("path.outline").count())) problems.push("map: no outline of the territory");
  const smallest = await map.evaluate((svg) => {
    const ratio = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return Math.min(...Array.from(svg.querySelectorAll("text")).map((t) => parseFloat(getComputedStyle(t).fontSize) * ratio));
  });
  if (smallest < 14) problems.push(`map: words of ${smallest.toFixed(1)} px`);
  const corridor = page.locator(".card.corridor", { hasText: "Cajarc → Figeac" });
  await corridor.waitFor({ timeout });
  await corridor.locator("button", { hasText: "Voir sur la carte" }).click();
  await page.waitForSelector("#territory-map svg g.corridor line.corridor-need", { timeout });
  const needs = await page.locator("#territory-map svg g.corridor line.corridor-need").count();
  const trips = await page.locator("#territory-map svg g.corridor line.corridor-trip").count();
  if (needs !== 1 || trips < 1) problems.push(`map: the corridor shows ${needs} needs and ${trips} trips`);
  await page.waitForSelector("text=Sur la carte : Cajarc → Figeac", { timeout });
  await shot(page, "map-corridor");
  await page.locator("button", { hasText: "Voir toute la carte" }).click();
  await page.waitForFunction(() => !document.querySelector("#territory-map svg g.corridor"), null, { timeout });
}

async function relay(page) {
  await check(page, "/relais", async (p) => p.waitForSelector(".card.person", { timeout }));
  await check(page, "/relais/personnes/nouvelle");
  await page.goto(base + "/");
  await openPerson(page);
  await check(page, new URL(page.url()).pathname, null, true);
  // A need for the person, and what became of one.
  await page.click("#request-for");
  await page.waitForSelector("#need-from", { timeout });
  await check(page, new URL(page.url()).pathname, null, true);
  await check(page, `/relais/besoins/${ids[0]}/suite`);
}

try {
  // On a cheap phone, then on a desktop screen.
  for (const viewport of [{ width: 360, height: 740 }, { width: 1280, height: 900 }]) {
    const page = await newPage(browser, { viewport });
    const before = problems.length;
    // Signed out, and (someone new) asked her name.
    await check(page, "/connexion", async (p) => p.waitForSelector("#contact", { timeout }));
    if (mode === "person") {
      const newcomer = await newPage(browser, { viewport });
      await newcomer.goto(base + "/");
      await newcomer.fill("#contact", viewport.width < 500 ? "06 55 44 33 21" : "06 55 44 33 22");
      await newcomer.click("#ask-code");
      await newcomer.waitForFunction(() => document.querySelector("#code")?.value?.length === 6, null, { timeout });
      await newcomer.click("#sign-in");
      await newcomer.waitForSelector("#welcome-name", { timeout });
      await check(newcomer, "/bienvenue", null, true);
      await newcomer.context().close();
    }
    await signIn(base, page, contact);
    // The cookie is set once signed in: screens open by their address.
    await page.waitForTimeout(500);
    if (mode === "coordinator") await coordinator(page);
    else if (mode === "relay") await relay(page);
    else await person(page);
    for (let i = before; i < problems.length; i++) problems[i] = `${viewport.width} px ${problems[i]}`;
    await page.context().close();
  }
  if (problems.length) throw new Error("not readable or accessible enough:\n" + problems.join("\n"));
  console.log("targets ok");
} finally {
  await browser.close();
}

async function person(page) {
  await check(page, "/");
  await check(page, "/besoins");
  await check(page, "/besoins/nouveau", async (p) => {
    await p.locator("label", { hasText: "Chaque semaine" }).click();
    await p.fill("#need-from", "Zzyzxville");
    await p.waitForSelector("#need-from + p.hint", { timeout });
    await p.fill("#need-to", "Fig");
    await p.waitForSelector(".suggestions button", { timeout });
  });
  await check(page, `/besoins/${ids[0]}`);
  await check(page, "/conduire");
  await check(page, "/conduire/nouveau");
  await check(page, `/trajets/${ids[1]}`);
  await check(page, "/reservations");
  await check(page, `/reservations/${booking}`, async (p) => {
    await p.waitForSelector("#contact-phone", { timeout });
  });
  await check(page, "/notifications");
  await check(page, "/profil");
  await check(page, "/reglages");
}
