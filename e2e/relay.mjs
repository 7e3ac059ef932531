// A relay and a coordinator in the web shell, headless Chromium, in two
// phases around a server restart that moves the clock to the day of the
// trip (the Rust test does the restart):
//   book:   the relay registers a person without a smartphone (a landline), posts her need
//           Livernon → Figeac, books Marie's commute; Marie confirms.
//   record: the relay records the trip done; the coordinator sees it in
//           the impact figures, the CSV, the registry export and the map.
// Usage: node relay.mjs <base-url> <screenshot-dir> <date YYYY-MM-DD> <book|record>
import { launch, newPage, openPerson, pickPlace, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, date, phase] = process.argv.slice(2);
const browser = await launch(shots);
const shot = shooter(shots, `relay-${phase}-`);
const RELAY = "relais.gramat@example.fr";

try {
  const relay = await newPage(browser);
  await signIn(base, relay, RELAY);
  if (phase === "book") {
    // Register Yvette: no mobile phone, a landline; the relay will call her.
    await relay.click("#go-relay");
    await relay.click("#new-person");
    await relay.fill("#person-name", "Yvette Roux");
    await relay.fill("#person-phone", "05 65 34 12 34");
    await pickPlace(relay, "#person-commune", "Livern", "Livernon (46320)");
    // Forgetting the consent is caught, in French.
    await relay.click("#register-person");
    await relay.waitForSelector("text=La personne doit être d'accord", { timeout });
    await relay.check("#person-consent");
    await relay.fill("#person-consent-method", "oral, au guichet de Gramat");
    await shot(relay, "register");
    await relay.click("#register-person");
    await relay.waitForSelector("#request-for", { timeout });
    await shot(relay, "person");

    // Her need, and Marie's commute among the matches, with its detour class.
    await relay.click("#request-for");
    await pickPlace(relay, "#need-from", "Livern", "Livernon (46320)");
    await pickPlace(relay, "#need-to", "Figeac", "Figeac (46100)");
    await relay.fill("#need-date", date);
    await relay.fill("#need-time", "09:30");
    await relay.click("#publish-request");
    await relay.waitForSelector("text=Conducteurs possibles", { timeout });
    const card = relay.locator(".card", { hasText: "Marie D." }).first();
    await card.waitFor({ timeout });
    await card.locator(".detour").waitFor({ timeout });
    await shot(relay, "matches");
    await card.locator("button.book").click();
    await relay.waitForSelector("text=en attente de la réponse de Marie D.", { timeout });

    // Marie confirms in her own browser; the relay sees it live.
    const marie = await newPage(browser);
    await signIn(base, marie, "+33600000001");
    await marie.click("#go-bookings");
    const request = marie.locator(".card.booking", { hasText: "Vous prenez" }).first();
    await request.waitFor({ timeout });
    await request.locator("button", { hasText: "Ouvrir" }).click();
    await marie.click("#confirm");
    await marie.waitForFunction(() => document.querySelector("#booking-status")?.textContent === "confirmé", null, { timeout });
    await relay.locator(".card.booking", { hasText: "confirmé" }).first().waitFor({ timeout });
    await shot(relay, "confirmed");
  } else {
    // The day of the trip: the relay records it done.
    await openPerson(relay, "Yvette Roux");
    const need = relay.locator(".card.need", { hasText: "Livernon" }).first();
    await need.locator("button", { hasText: "Indiquer ce qui s'est passé" }).click();
    await relay.check("input[name=outcome][value=done]");
    await relay.click("#save-outcome");
    await relay.waitForSelector("text=Suite : trajet effectué", { timeout });
    await shot(relay, "done");

    // The coordinator: figures, CSV, registry, map.
    const coordinator = await newPage(browser);
    await signIn(base, coordinator, "coordination@example.fr");
    await coordinator.click("#go-relay");
    await coordinator.click("#go-coordination");
    await coordinator.click("#go-impact");
    await coordinator.waitForFunction(() => document.querySelector("#fig-done")?.textContent === "1", null, { timeout });
    const href = await coordinator.getAttribute("#impact-csv", "href");
    const csv = decodeURIComponent(href.slice(href.indexOf(",") + 1));
    // What a French spreadsheet opens with a double click: a byte order
    // mark, semicolons, decimal commas.
    if (!csv.startsWith("\uFEFFdimension;cle;libelle;demandes")) throw new Error(`CSV: ${csv.slice(0, 80)}`);
    if (!/\nperiode;lot;[^\n]*;1;1;/.test(csv)) throw new Error(`CSV without the trip: ${csv}`);
    if (/\d\.\d/.test(csv.split("\n").slice(1).join("\n").replace(/\d{4}-\d{2}(-\d{2})?/g, ""))) {
      throw new Error(`CSV with decimal points: ${csv}`);
    }
    await coordinator.waitForSelector("svg.chart", { timeout });
    await shot(coordinator, "impact");
    await coordinator.click("button.back");
    await coordinator.click("#go-registry");
    const journey = coordinator.locator(".card.journey").first();
    await journey.waitFor({ timeout });
    const body = await journey.locator("pre").textContent();
    const parsed = JSON.parse(body);
    if (parsed.operator_class !== "A" || !Array.isArray(parsed.incentives)) throw new Error(`registry body: ${body}`);
    if (parsed.passenger.identity.phone_trunc !== "+335653412") throw new Error(`registry identity: ${body}`);
    await journey.locator("text=À envoyer").waitFor({ timeout });
    await shot(coordinator, "registry");
    await coordinator.click("button.back");
    await coordinator.click("#go-map");
    await coordinator.waitForSelector(".map svg line.trip", { timeout });
    await shot(coordinator, "map");
  }
  console.log(`relay ${phase} ok`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
