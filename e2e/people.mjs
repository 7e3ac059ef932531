// A relay books for a person without a smartphone, and every role sees
// that person and the same state of her need, each in its own words
// (headless Chromium, Debian's). Two phases around a server restart that
// moves the clock to the day of the trip (the Rust test does the restart):
//   book: the relay registers Yvette Roux (a landline she does not want
//         shown; the relay calls her), posts her need Livernon → Figeac and
//         books Marie's commute. The relay's booking names Yvette, her need
//         says the request went to Marie; Marie is asked for Yvette, « À
//         vous de répondre », by the relay, confirms and is told to reach
//         her through the relay; the need says the place is confirmed, with
//         the day and time, and offers no more drivers; the coordinator's
//         board agrees and proposes nobody. « Le trajet a eu lieu » is not
//         offered before the day.
//   day:  on the day of the trip, Marie is offered « Le trajet a eu lieu ».
// Usage: node people.mjs <base-url> <screenshot-dir> <date YYYY-MM-DD> <book|day>
import { launch, newPage, openPerson, pickPlace, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, date, phase] = process.argv.slice(2);
const browser = await launch(shots);
const shot = shooter(shots, `people-${phase}-`);
const RELAY = "relais.gramat@example.fr";
const MARIE = "+33600000001";
// "mardi 8 décembre", as the screens write the date of the trip.
const day = new Intl.DateTimeFormat("fr-FR", { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" })
  .format(new Date(`${date}T12:00:00Z`));

async function expectText(page, locator, wanted, what) {
  try {
    await page.locator(locator, { hasText: wanted }).first().waitFor({ timeout });
  } catch (error) {
    const seen = await page.locator(locator).allTextContents();
    throw new Error(`${what}: wanted ${wanted}, saw ${JSON.stringify(seen)}`);
  }
}

async function openMarieBooking(page) {
  if (await page.locator("#go-bookings").count()) await page.click("#go-bookings");
  const card = page.locator(".card.booking", { hasText: "Yvette R." }).first();
  try {
    await card.waitFor({ timeout });
  } catch (error) {
    const seen = await page.locator(".card.booking").allTextContents();
    throw new Error(`the driver's bookings do not name Yvette: ${JSON.stringify(seen)}`);
  }
  await card.locator("button", { hasText: "Ouvrir" }).click();
  await page.waitForSelector("#booking-status", { timeout });
}

// Back to the home screen with the « ← Retour » buttons, as a person would.
async function home(page) {
  for (let i = 0; i < 6 && !(await page.locator("#go-ride").count()); i++) {
    await page.click("button.back");
    await page.waitForTimeout(300);
  }
  await page.waitForSelector("#go-ride", { timeout });
}

async function openYvette(page) {
  await home(page);
  await openPerson(page, "Yvette Roux");
}

try {
  const marie = await newPage(browser);
  await signIn(base, marie, MARIE);
  if (phase === "book") {
    const relay = await newPage(browser, { viewport: { width: 1280, height: 900 } });
    await signIn(base, relay, RELAY);
    await relay.click("#go-relay");
    await relay.click("#new-person");
    await relay.fill("#person-name", "Yvette Roux");
    await relay.fill("#person-phone", "05 65 34 12 34");
    await pickPlace(relay, "#person-commune", "Livern", "Livernon (46320)");
    await relay.check("#person-consent");
    await relay.click("#register-person");
    await relay.waitForSelector("#request-for", { timeout });
    await relay.click("#request-for");
    await pickPlace(relay, "#need-from", "Livern", "Livernon (46320)");
    await pickPlace(relay, "#need-to", "Figeac", "Figeac (46100)");
    await relay.fill("#need-date", date);
    await relay.fill("#need-time", "09:30");
    await relay.click("#publish-request");
    await relay.waitForSelector("text=Conducteurs possibles", { timeout });
    const offer = relay.locator(".card", { hasText: "Marie D." }).first();
    await offer.waitFor({ timeout });
    await offer.locator("button.book").click();

    // The relay's bookings name the person each one is for.
    await relay.waitForSelector("text=Mes réservations", { timeout });
    await expectText(relay, ".card.booking", "Marie D. prend Yvette R.", "the relay's booking");
    await shot(relay, "relay-bookings");
    // Her need: the request went to Marie.
    await openYvette(relay);
    await expectText(relay, ".card.need", "Demande envoyée à Marie D.", "Yvette's need after booking");
    await shot(relay, "relay-asked");

    // Marie: asked for Yvette, by the relay; it is her turn to answer.
    await marie.click("#go-bookings");
    await expectText(marie, ".card.booking", "Vous prenez Yvette R.", "the driver's booking");
    await expectText(marie, ".card.booking", "À vous de répondre", "the driver's booking status");
    await openMarieBooking(marie);
    await expectText(marie, "p", "Réservé par le relais France Services Gramat", "who booked");
    await shot(marie, "driver-asked");
    await marie.click("#confirm");
    await marie.waitForFunction(() => document.querySelector("#booking-status")?.textContent === "confirmé", null, { timeout });
    // How to reach her: the relay's line, said as such.
    await expectText(marie, ".card.highlight", "Joindre par le relais France Services Gramat : relais.gramat@example.fr", "the contact");
    if (await marie.locator(".card.highlight", { hasText: "05 65 34 12 34" }).count()) {
      throw new Error("Yvette's landline was shown to the driver");
    }
    // Days before the trip, it cannot be said to have happened.
    if (await marie.locator("button", { hasText: "Le trajet a eu lieu" }).count()) {
      throw new Error("« Le trajet a eu lieu » offered before the day of the trip");
    }
    await shot(marie, "driver-confirmed");

    // The relay: the place is confirmed, with the day and time; no more
    // drivers to look for.
    await openYvette(relay);
    const confirmed = new RegExp(`Place confirmée avec Marie D\\., ${day} à \\d{1,2} h( \\d\\d)?`);
    await expectText(relay, ".card.need", confirmed, "Yvette's need once confirmed");
    const need = relay.locator(".card.need").first();
    if (await need.locator("button", { hasText: "Voir les conducteurs" }).count()) {
      throw new Error("« Voir les conducteurs » offered on a confirmed need");
    }
    await shot(relay, "relay-confirmed");

    // The coordinator's board: not waiting; booked, with nobody to propose.
    const coordinator = await newPage(browser, { viewport: { width: 1280, height: 900 } });
    await signIn(base, coordinator, "coordination@example.fr");
    await coordinator.click("#go-relay");
    await coordinator.click("#go-coordination");
    await coordinator.click("#go-board");
    await coordinator.waitForSelector("#board-status", { timeout });
    await coordinator.waitForSelector("text=Aucune demande", { timeout });
    if (await coordinator.locator(".card.board").count()) {
      const seen = await coordinator.locator(".card.board").allTextContents();
      throw new Error(`a booked need listed as waiting: ${JSON.stringify(seen)}`);
    }
    await coordinator.selectOption("#board-status", "booked");
    await expectText(coordinator, ".card.board", "Place confirmée avec Marie D.", "the board");
    await expectText(coordinator, ".card.board", "Pour Yvette Roux", "the board");
    if (await coordinator.locator(".card.board button", { hasText: "Proposer au conducteur" }).count()) {
      throw new Error("« Proposer au conducteur » offered on a confirmed need");
    }
    await shot(coordinator, "board");
  } else {
    // The day of the trip: now it can be said to have happened.
    await openMarieBooking(marie);
    await marie.locator("button", { hasText: "Le trajet a eu lieu" }).waitFor({ timeout });
    await shot(marie, "driver-day");
    // ...and the server agrees, before the time of the pick-up.
    await marie.locator("button", { hasText: "Le trajet a eu lieu" }).click();
    await marie.waitForSelector("text=Merci ! L'autre personne va confirmer.", { timeout });
    await shot(marie, "driver-done");
  }
  console.log(`people ${phase} ok`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
