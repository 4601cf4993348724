import { describe, expect, it } from "vitest";
import { slowRepetitionIn } from "../../src/tenants/nested-repetition.js";

describe("a pattern repeating a repetition", () => {
  it.each([
    "(a+)+",
    "(a*)*",
    "(\\w+\\s?)+$",
    "(?:x+y?)*z",
    // A character between repetitions that the repeated run may take too, or an optional one, ends none.
    "(.+\\.)+x",
    "(\\w+\\.?)+x",
    "(?:[a-z]+[ a]|b)+x",
    "(?:[^\\s]é+)+\\d",
    // A delimiter between two varying parts: the run from one repetition's to the next's splits between them.
    "(\\w+\\.\\w+)+$",
    "(\\d+-\\d+)+;",
    "(a{0,5}\\.a{0,5})+x",
    // Alternatives of different lengths vary as a repetition does, and may take the delimiter.
    "((?:\\.|)a*\\.)+x",
    // An alternative that may match nothing is a `?`: one dot or two, Fibonacci's ways.
    "((?:\\.|)\\.)+x",
    "((?:|a)b?)+c",
    "(a+|b){2,}",
    "(a+?)+?",
    "((a+))+",
    "(\\w+\\s?){1,1000}",
    "(\\w{1,64}\\s?)+",
    "([a-z0-9]{1,64}\\.?)+@",
    "(a{2,})+",
    "(x|y+){11}",
    "(a+){2}",
    "(a+){3}",
    "(\\w+\\s?){10}$",
    "((\\w+\\s?){3}){3}",
    "(\\w{1,8}){10}",
    "(\\w{1,64}\\s?){10}",
    // `?` varies a group's length as much as `{0,1}` does: a run of letters splits into ones and twos in exponentially many ways.
    "(\\w\\w?)+$",
    "(a?)+",
    // Ways multiply up through the groups that hold them.
    "((\\d{1,3}\\.){3})+",
    // A `)` in a class closes no group, even one escaped `]` into.
    "([)]|a+)+",
    "([\\])]|a+)+",
    // Past the budget of 100,000 ways by one power.
    "(a{1,10}){6}",
    // A count too long for a double is as many as JavaScript repeats anything, not NaN ways.
    `(?:a+|x{${"9".repeat(320)}})+$`,
  ])("is found in %s", (pattern) => {
    expect(slowRepetitionIn(pattern)).toBe("nested");
  });

  it.each([
    // A space is `.` or `\s`: a run of n spaces parses in 2^n ways (seconds of CPU for 30).
    "(.|\\s)*;",
    "password(.|\\s)*;",
    "(\\w|\\d)+x",
    "(?:[a-z]|[aeiou])*!",
    // An alternative made only of what the one-character ones take: "aa" is also "a" twice.
    "(?:a|aa)+$",
    "(?:ab|a|b)+c",
    "(?:[^&]|%26)+&",
    // An empty group or a lookahead takes no character of its alternative's text.
    "(?:(?:)b|b)+c",
    "(?:(?=b)b|b)+c",
    // A delimiter ends each repetition at one place, but what is between parses two ways each time.
    "(?:-(?:\\w|\\d))+!",
    "(?:,(?:\\s| ))+$",
    // Each part of the longer one takes what the one-character one does: "\\\\" is either.
    '"(?:\\\\.|[^"])*"',
    // Alternatives of as many single characters, sharing one at each place, spelled or counted.
    "(?:ab|ab)+x",
    "(?:\\w\\d|\\d\\w)+x",
    "(?:[a-z]{2}|[a-z]{2})+x",
    "(?:a{2}b|aab)+x",
    "(?:a{16}|a{16})+x",
    // One character past ASCII and a class of them: é is either.
    "(?:é|[^\\x00-\\x7f])+x",
    // \S takes the letters of every script.
    "(?:\\S|[^\\x00-\\x7f])+x",
    // Letters of another script are told apart, or found alike, as ASCII ones are.
    "(?:ая|ая)+x",
    "(?:é|éé)+x",
    // A back reference may match them too.
    "(é)(?:\\1|é)+x",
    // A group that ends a lookbehind is matched first, V8 matching a lookbehind from its end.
    " (?<=x(?: |\\s)*)",
    "\\s(?<=password:(?:.|\\s)*)",
    // Ambiguous groups one after another, each within the budget, past it together.
    `${"(?:a|a)".repeat(17)}x`,
  ])("finds alternatives that may match the same text, repeated, in %s", (pattern) => {
    expect(slowRepetitionIn(pattern)).toBe("overlapping");
  });

  it.each([
    "ACCT-\\d{6}",
    "(\\d{4}[- ]?){3}\\d{4}",
    "(a+)b+",
    "\\(a+\\)+",
    "[(a+)]+",
    "(?=a+)b",
    "a{2}(b{3})+",
    "x{,5}+",
    "(\\d{1,3}\\.){3}\\d{1,3}",
    "([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}",
    "(ab{2})+",
    "(a{3,3})*",
    "([0-9a-f]{0,4}:){2,7}",
    "(a+)?",
    "((a+)?)?",
    "(\\w{1,2}){2}",
    "a+b+c+",
    "(a{1,10}){5}",
    // Each repetition must match a character the run in it cannot take, which ends it at one place.
    "((ab)*c)+",
    "(?<word>[a-z]+ )+",
    "([a-z0-9-]{1,63}\\.)+[a-z]{2,}",
    "[\\w.+-]+@(?:[\\w-]+\\.)+[a-z]{2,}",
    "\\+\\d+(?:[ -]\\d+)+",
    "\\b[A-Z][a-z]+(?: [A-Z][a-z]+)+\\b",
    "\\b[\\w-]+(?:\\.[\\w-]+)*\\.(?:com|net|org)\\b",
    // Alternatives that start apart, repeated: each character goes one way.
    "(.|\\n)*",
    "(\\d|\\.)+",
    "(?:\\r\\n|\\n)+",
    "(\\w|-)+@",
    "(?:a|a){3}",
    "(?:(?=a)b|a)+",
    // Alternatives that start alike but go one way each: the next character tells them apart.
    "(?:ab|ac)+x",
    "(?:Bearer |Basic )+x",
    "(?:\\d{3}-|\\d{4})+x",
    "(?:\\w\\d|\\d-)+x",
    "(?:(?:a|c)x|ay)+z",
    '"(?:\\\\"|[^"])*"',
    '"(?:[^"\\\\]|\\\\u[0-9a-fA-F]{4}|\\\\["\\\\/bfnrt])*"',
    // \s and \S share nothing.
    "(?:\\S|\\s)+x",
    "(?:\\S+\\s){3}",
    // Ending the pattern, a repetition is never backtracked into.
    "password(.|\\s)*",
    "(?:key|token)=(?:[^&]|%26)+",
    // Words of another script's letters that differ are not read as alike.
    "(?:(?:ИНН|КПП):\\d+;)+\\s",
    "(?:(?:手机|电话):\\d{11};)+\\s",
    // A lookahead is matched once, from its start: one that ends it is never backtracked into.
    "x(?=(?:.|\\s)*)",
  ])("is not claimed of %s", (pattern) => {
    expect(slowRepetitionIn(pattern)).toBeUndefined();
  });
});
