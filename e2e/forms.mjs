// Forms a person can finish, on a phone: the place field says when it
// finds nothing, forgives typos and takes a name typed in full; the
// keyboard's Enter sends the form; a mistake is shown next to its field,
// which gets the focus, with a summary on top.
// Usage: node forms.mjs <base-url> <screenshot-dir>
import { back, launch, newPage, pickPlace, shooter, signIn, timeout } from "./lib.mjs";

const [base, shots, width = "360"] = process.argv.slice(2);
// A phone (360 px wide) or a desktop screen.
const viewport = Number(width) < 600 ? { width: Number(width), height: 740 } : { width: Number(width), height: 900 };
const browser = await launch(shots);
const shot = shooter(shots, `forms-${width}-`);

const fail = (message) => { throw new Error(message); };

try {
  const page = await newPage(browser, { viewport });
  // A first sign-in asks the name the others will see, before anything.
  await page.goto(base + "/");
  await page.fill("#contact", "06 98 76 54 32");
  await page.click("#ask-code");
  await page.waitForFunction(() => document.querySelector("#code")?.value?.length === 6, null, { timeout });
  await page.click("#sign-in");
  await page.waitForSelector("#welcome-name", { timeout });
  if (await page.locator("#go-ride").count()) fail("the home screen showed before the name was asked");
  await page.press("#welcome-name", "Enter");
  await page.waitForSelector('#welcome-name[aria-invalid="true"]', { timeout });
  const nameMessage = await page.locator(`[id="${await page.getAttribute("#welcome-name", "aria-describedby")}"]`).textContent();
  if (!nameMessage.includes("Indiquez votre prénom")) fail(`an empty name says « ${nameMessage} »`);
  await shot(page, "name-asked");
  await page.fill("#welcome-name", "Claire Petit");
  await page.press("#welcome-name", "Enter");
  await page.waitForSelector("#go-ride", { timeout });
  await page.waitForSelector("text=Bonjour Claire Petit", { timeout });
  // Signed in again later, she is not asked again.
  const again = await newPage(browser);
  await signIn(base, again, "06 98 76 54 32", "Asked again");
  await again.waitForSelector("text=Bonjour Claire Petit", { timeout });

  await page.click("#go-ride");
  await page.click("#new-request");
  await page.waitForSelector("#need-from", { timeout });

  // A name that matches nothing: said so, under the field.
  await page.fill("#need-from", "Zzyzxville");
  const none = page.locator("#need-from + p.hint");
  await none.waitFor({ timeout });
  const said = (await none.textContent()).trim();
  if (!said.startsWith("Aucune commune trouvée pour « Zzyzxville »")) fail(`nothing found says « ${said} »`);
  if ((await page.getAttribute("#need-from", "aria-describedby")).split(" ")[0] !== (await none.getAttribute("id"))) {
    fail("the field does not point at what is said about it");
  }
  await shot(page, "nothing-found");

  // A typo still finds the commune; a name typed in full is taken as it is,
  // even in short form.
  await pickPlace(page, "#need-from", "Figeak", "Figeac (46100)");
  await pickPlace(page, "#need-to", "St Cere", "Saint-Céré (46400)");

  // A mistake at the bottom of the form, sent with the keyboard's Enter from
  // the last field: the message is next to the field, which is focused and
  // marked, with a summary on top in an error style.
  await page.fill("#need-time", "");
  await page.fill("#need-back", "14:00");
  await page.press("#need-back", "Enter");
  await page.waitForSelector('#need-time[aria-invalid="true"]', { timeout });
  const until = Date.now() + timeout;
  while ((await page.evaluate(() => document.activeElement?.id)) !== "need-time") {
    if (Date.now() > until) fail(`the focus is on « ${await page.evaluate(() => document.activeElement?.id)} », not the time`);
    await page.waitForTimeout(100);
  }
  const describedBy = await page.getAttribute("#need-time", "aria-describedby");
  const message = (await page.locator(`[id="${describedBy}"]`).textContent()).trim();
  if (!message) fail("the time field's message is empty");
  const box = async (selector) => page.locator(selector).boundingBox();
  const [field, under] = [await box("#need-time"), await box(`[id="${describedBy}"]`)];
  if (!(under.y >= field.y + field.height - 1 && under.y - (field.y + field.height) < 60)) {
    fail(`the message is not under its field: ${JSON.stringify({ field, under })}`);
  }
  const summary = page.locator(".flash.alert[role=alert]");
  if (!(await summary.isVisible())) fail("no summary on top in an error style");
  if (!/à corriger/.test(await summary.textContent())) fail(`the summary says « ${await summary.textContent()} »`);
  if ((await page.getAttribute("#need-from", "aria-invalid")) !== "false") fail("a right field is marked wrong");
  await shot(page, "mistake");

  // Corrected, Enter sends it.
  await page.fill("#need-time", "09:30");
  await page.press("#need-time", "Enter");
  await page.waitForSelector("text=Conducteurs possibles", { timeout });
  const need = await page.locator("p.muted").first().textContent();
  if (!need.includes("Figeac") || !need.includes("Saint-Céré")) fail(`the need is « ${need} »`);
  await shot(page, "sent");

  // A trip: both places typed in full and sent at once with Enter, before
  // any suggestion could be tapped.
  await back(page, "#new-request");
  await back(page, "#go-drive");
  await page.click("#go-drive");
  await page.click("#new-offer");
  await page.waitForSelector("#offer-from", { timeout });
  await page.fill("#offer-from", "Cahors");
  await page.fill("#offer-to", "Gramat");
  await page.press("#offer-to", "Enter");
  await page.waitForSelector("text=Trajet publié", { timeout });
  const trips = await page.locator(".card").allTextContents();
  if (!trips.some((t) => t.includes("Cahors") && t.includes("Gramat"))) fail(`the trips are ${JSON.stringify(trips)}`);
  await shot(page, "trip-sent");
  console.log("forms ok");
} finally {
  await browser.close();
}
