// A link to a booking, as sent by SMS, opened in the web shell (headless
// Chromium, Debian's): signed out, the passenger sees the sign-in screen,
// signs in and lands on that booking; the address follows the screens and
// the back button brings the booking back; the old link (`/bookings/<id>`,
// the one the notifications carry) opens the same booking, as does the
// notification in the inbox. Once signed in, the same browser opens the
// link at once (the session cookie), until she signs out.
// Usage: node deeplink.mjs <base-url> <screenshot-dir> <booking-id> <old-link> <contact>
import { launch, newPage, shooter, timeout } from "./lib.mjs";

const [base, shots, booking, oldLink, contact] = process.argv.slice(2);
const browser = await launch(shots);
const shot = shooter(shots, "deeplink-");
const screen = `/reservations/${booking}`;

// The address bar, without the origin (an empty "?" or "#" shows too).
const address = (page) => page.evaluate(() => location.href.slice(location.origin.length));

async function waitForAddress(page, wanted) {
  try {
    await page.waitForFunction((w) => location.href.slice(location.origin.length) === w, wanted, { timeout });
  } catch (error) {
    throw new Error(`address ${await address(page)}, wanted ${wanted}`);
  }
}

/// Signs in on the sign-in screen already shown.
async function signInHere(page) {
  await page.waitForSelector("#contact", { timeout });
  await page.fill("#contact", contact);
  await page.click("#ask-code");
  await page.waitForFunction(() => document.querySelector("#code")?.value?.length === 6, null, { timeout });
  await page.click("#sign-in");
}

/// The booking screen: Marie drives, and she confirmed.
async function seeTheBooking(page) {
  await page.waitForSelector("h1:has-text('Marie D. vous prend')", { timeout });
  await page.waitForFunction(() => document.querySelector("#booking-status")?.textContent === "confirmé", null, { timeout });
}

try {
  // Her phone knows where she is (Livernon).
  const page = await newPage(browser, {
    geolocation: { latitude: 44.646, longitude: 1.844 },
    permissions: ["geolocation"],
  });

  // The SMS link, signed out: the sign-in screen, at the link's address.
  const response = await page.goto(base + screen);
  if (response.status() !== 200) throw new Error(`${screen} answered ${response.status()}`);
  await page.waitForSelector("#ask-code", { timeout });
  if (await page.locator("#booking-status").count()) throw new Error("the booking showed before signing in");
  await waitForAddress(page, screen);
  await shot(page, "sign-in");

  // Signed in: the booking that was asked, not the home screen.
  await signInHere(page);
  await seeTheBooking(page);
  if (await page.locator("#go-ride").count()) throw new Error("the home screen showed instead of the booking");
  await waitForAddress(page, screen);
  await shot(page, "booking");

  // Moving on changes the address; the back button brings the booking back.
  await page.click("button.back");
  await page.waitForSelector("h1:has-text('Mes réservations')", { timeout });
  await waitForAddress(page, "/reservations");
  await shot(page, "bookings");
  await page.goBack();
  await seeTheBooking(page);
  await waitForAddress(page, screen);
  await shot(page, "back");
  // ...and forward again.
  await page.goForward();
  await page.waitForSelector("h1:has-text('Mes réservations')", { timeout });
  await waitForAddress(page, "/reservations");

  // The notification in the inbox opens the booking too.
  await page.click("button.back");
  await page.waitForSelector("#go-inbox", { timeout });
  await waitForAddress(page, "/");
  await page.click("#go-inbox");
  await waitForAddress(page, "/notifications");
  const note = page.locator(".card", { hasText: "confirm" }).first();
  await note.waitFor({ timeout });
  await shot(page, "inbox");
  await note.locator("button", { hasText: "Ouvrir" }).click();
  await seeTheBooking(page);
  await waitForAddress(page, screen);
  // A message shown on a screen goes away when the back button leaves it,
  // as when moving in the app.
  await page.click("#check-in");
  await page.waitForSelector(".flash:has-text('Vous pourrez indiquer')", { timeout });
  await page.goBack();
  await waitForAddress(page, "/notifications");
  await page.waitForSelector("h1:has-text('Notifications')", { timeout });
  try {
    await page.waitForFunction(() => !document.querySelector(".flash"), null, { timeout: 5000 });
  } catch (error) {
    throw new Error(`message still shown: ${await page.locator(".flash").first().textContent()}`);
  }

  // Signed in, she opens the link from the SMS again, in another tab of the
  // same browser: the booking at once, no new code to ask for.
  const cookies = await page.context().cookies();
  const kept = cookies.find((c) => c.name === "lotocar_session");
  if (!kept || !kept.httpOnly || kept.sameSite !== "Strict") {
    throw new Error(`no HttpOnly, SameSite=Strict session cookie: ${JSON.stringify(cookies)}`);
  }
  if ((await page.evaluate(() => document.cookie)).includes("lotocar_session")) {
    throw new Error("the page's scripts can read the session cookie");
  }
  const tab = await page.context().newPage();
  await tab.goto(base + screen);
  await seeTheBooking(tab);
  if (await tab.locator("#ask-code").count()) throw new Error("asked to sign in again");
  await waitForAddress(tab, screen);
  await shot(tab, "same-browser");
  // A reload keeps her signed in, on the same screen.
  await tab.reload();
  await seeTheBooking(tab);
  await waitForAddress(tab, screen);
  // Signing out forgets it: the link shows the sign-in screen again.
  await tab.goto(base + "/reglages");
  await tab.locator("button", { hasText: "Se déconnecter" }).click();
  await tab.waitForSelector("#ask-code", { timeout });
  await tab.goto(base + screen);
  await tab.waitForSelector("#ask-code", { timeout });
  if (await tab.locator("#booking-status").count()) throw new Error("the booking showed after signing out");
  await shot(tab, "signed-out");

  // The old link, in another browser (signed out): the same booking, and
  // the address becomes the screen's own.
  const other = await newPage(browser);
  const old = await other.goto(base + oldLink);
  if (old.status() !== 200) throw new Error(`${oldLink} answered ${old.status()}`);
  await signInHere(other);
  await seeTheBooking(other);
  await waitForAddress(other, screen);
  await shot(other, "old-link");
  console.log(`deep link ok ${await address(page)}`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
