"use client";
// The UI language (German or English) and the locale of numbers and dates. German when the
// browser prefers it, English otherwise, until the user picks one (kept in localStorage). Numbers
// and dates follow the browser's locale when it is of the UI's language (de-AT, en-GB keep their
// own formats), times the browser's time zone; bills run in the community's time zone.
import { useMemo, useSyncExternalStore } from "react";
import { Formatter } from "../format";
import { useRuntime } from "../runtime";
import { storageSubscribers } from "../storage";
import { de } from "./de";
import { en, type Lang, type Messages } from "./en";

export type { Lang, Messages };

const MESSAGES: Record<Lang, Messages> = { de, en };
const STORAGE_KEY = "enerwise-lang";
const languageSubscribers = storageSubscribers();

function browserLocale(): string {
  return navigator.languages?.[0] ?? navigator.language ?? "en-US";
}

function currentLang(): Lang {
  const stored = window.localStorage.getItem(STORAGE_KEY);
  if (stored === "de" || stored === "en") return stored;
  return browserLocale().toLowerCase().startsWith("de") ? "de" : "en";
}

export function setLang(lang: Lang): void {
  window.localStorage.setItem(STORAGE_KEY, lang);
  languageSubscribers.notify();
}

/** The UI language ("en" while the static page hydrates, then the user's). */
export function useLang(): Lang {
  return useSyncExternalStore(languageSubscribers.subscribe, currentLang, () => "en" as Lang);
}

export function useMessages(): Messages {
  return MESSAGES[useLang()];
}

export function numberLocale(lang: Lang): string {
  const browser = browserLocale();
  return browser.toLowerCase().startsWith(lang) ? browser : MESSAGES[lang].locale;
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export interface I18n {
  lang: Lang;
  /** Locale of numbers and dates. */
  locale: string;
  t: Messages;
  f: Formatter;
}

/** Texts and formats for pages (inside the runtime configuration: money needs the token). */
export function useI18n(): I18n {
  const cfg = useRuntime();
  const lang = useLang();
  return useMemo(() => {
    const locale = numberLocale(lang);
    return { lang, locale, t: MESSAGES[lang], f: new Formatter(locale, browserTimeZone(), cfg) };
  }, [cfg, lang]);
}
