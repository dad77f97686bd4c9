package local.stack.wiremock;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Just enough of GraphQL's executable documents for the Shopify stand-in: operations, fields with
 * aliases, arguments and directives, inline fragments, named fragments and variables with their
 * defaults. No schema: {@link ShopifyGraphql} resolves the fields it knows and refuses the rest.
 */
final class Gql {
  private Gql() {}

  /** A request the stand-in refuses before running anything: a top-level GraphQL error. */
  static final class Error extends RuntimeException {
    final String code;

    Error(String message, String code) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  record Document(List<Operation> operations, Map<String, Fragment> fragments) {
    Operation operation(String name) {
      if (name == null || name.isEmpty()) {
        if (operations.size() == 1) return operations.get(0);
        throw new Error("An operation name is required when the document holds several operations", "BAD_REQUEST");
      }
      for (Operation op : operations) if (name.equals(op.name)) return op;
      throw new Error("No operation named \"" + name + "\"", "BAD_REQUEST");
    }
  }

  record Operation(String type, String name, Map<String, Object> variableDefaults, List<Selection> selections) {
    boolean isMutation() {
      return "mutation".equals(type);
    }
  }

  record Fragment(String name, String typeCondition, List<Selection> selections) {}

  sealed interface Selection permits Field, InlineFragment, FragmentSpread {}

  record Field(String alias, String name, Map<String, Object> arguments, List<Directive> directives, List<Selection> selections)
      implements Selection {
    String key() {
      return alias != null ? alias : name;
    }

    Directive directive(String directiveName) {
      for (Directive d : directives) if (d.name.equals(directiveName)) return d;
      return null;
    }
  }

  record InlineFragment(String typeCondition, List<Directive> directives, List<Selection> selections) implements Selection {}

  record FragmentSpread(String name, List<Directive> directives) implements Selection {}

  record Directive(String name, Map<String, Object> arguments) {}

  /** A `$name` in the document, resolved against the request's variables. */
  record Variable(String name) {}

  /** An enum literal: resolves to its name, as a variable of an enum type arrives. */
  record EnumValue(String name) {}

  /** A literal or variable with the request's variables put in; enum literals become their names. */
  static Object resolve(Object value, Map<String, Object> variables) {
    if (value instanceof Variable v) return variables.get(v.name);
    if (value instanceof EnumValue e) return e.name;
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (Object item : list) out.add(resolve(item, variables));
      return out;
    }
    if (value instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      map.forEach((k, v) -> out.put((String) k, resolve(v, variables)));
      return out;
    }
    return value;
  }

  static Map<String, Object> resolveArguments(Map<String, Object> arguments, Map<String, Object> variables) {
    if (arguments.isEmpty()) return Map.of();
    Map<String, Object> out = new LinkedHashMap<>();
    arguments.forEach((k, v) -> out.put(k, resolve(v, variables)));
    return out;
  }

  static Document parse(String text) {
    return new Parser(text).document();
  }

  private static final class Parser {
    private final String s;
    private int pos;

    Parser(String s) {
      this.s = s;
    }

    Document document() {
      List<Operation> operations = new ArrayList<>();
      Map<String, Fragment> fragments = new LinkedHashMap<>();
      skipIgnored();
      if (pos >= s.length()) throw syntax("the document holds no operation");
      while (pos < s.length()) {
        if (peek('{')) {
          operations.add(new Operation("query", null, Map.of(), selectionSet()));
        } else {
          String keyword = name();
          switch (keyword) {
            case "query", "mutation", "subscription" -> operations.add(operation(keyword));
            case "fragment" -> {
              String fragmentName = name();
              expectName("on");
              String type = name();
              directives();
              fragments.put(fragmentName, new Fragment(fragmentName, type, selectionSet()));
            }
            default -> throw syntax("unexpected \"" + keyword + "\"");
          }
        }
        skipIgnored();
      }
      if (operations.isEmpty()) throw syntax("the document holds no operation");
      return new Document(List.copyOf(operations), Map.copyOf(fragments));
    }

    private Operation operation(String type) {
      String opName = peekNameStart() ? name() : null;
      Map<String, Object> defaults = new LinkedHashMap<>();
      if (accept('(')) {
        while (!accept(')')) {
          expect('$');
          String variable = name();
          expect(':');
          type();
          if (accept('=')) defaults.put(variable, value(true));
          directives();
        }
      }
      directives();
      return new Operation(type, opName, defaults, selectionSet());
    }

    private void type() {
      if (accept('[')) {
        type();
        expect(']');
      } else {
        name();
      }
      accept('!');
    }

    private List<Selection> selectionSet() {
      expect('{');
      List<Selection> selections = new ArrayList<>();
      while (!accept('}')) {
        if (accept('.')) {
          expect('.');
          expect('.');
          if (peekNameStart()) {
            String word = name();
            if (!word.equals("on")) {
              selections.add(new FragmentSpread(word, directives()));
              continue;
            }
            String type = name();
            selections.add(new InlineFragment(type, directives(), selectionSet()));
          } else {
            selections.add(new InlineFragment(null, directives(), selectionSet()));
          }
        } else {
          String first = name();
          String alias = null;
          String fieldName = first;
          if (accept(':')) {
            alias = first;
            fieldName = name();
          }
          Map<String, Object> arguments = arguments(false);
          List<Directive> directives = directives();
          List<Selection> sub = peek('{') ? selectionSet() : List.of();
          selections.add(new Field(alias, fieldName, arguments, directives, sub));
        }
      }
      if (selections.isEmpty()) throw syntax("an empty selection set");
      return List.copyOf(selections);
    }

    private Map<String, Object> arguments(boolean constant) {
      if (!accept('(')) return Map.of();
      Map<String, Object> arguments = new LinkedHashMap<>();
      while (!accept(')')) {
        String argument = name();
        expect(':');
        arguments.put(argument, value(constant));
      }
      return arguments;
    }

    private List<Directive> directives() {
      List<Directive> directives = null;
      while (accept('@')) {
        if (directives == null) directives = new ArrayList<>(1);
        String directiveName = name();
        directives.add(new Directive(directiveName, arguments(false)));
      }
      return directives == null ? List.of() : directives;
    }

    private Object value(boolean constant) {
      skipIgnored();
      if (pos >= s.length()) throw syntax("a value is missing");
      char c = s.charAt(pos);
      if (c == '$') {
        if (constant) throw syntax("a variable in a constant value");
        pos++;
        return new Variable(name());
      }
      if (c == '"') return string();
      if (c == '[') {
        pos++;
        List<Object> list = new ArrayList<>();
        while (!accept(']')) list.add(value(constant));
        return list;
      }
      if (c == '{') {
        pos++;
        Map<String, Object> object = new LinkedHashMap<>();
        while (!accept('}')) {
          String key = name();
          expect(':');
          object.put(key, value(constant));
        }
        return object;
      }
      if (c == '-' || (c >= '0' && c <= '9')) return number();
      String word = name();
      return switch (word) {
        case "true" -> Boolean.TRUE;
        case "false" -> Boolean.FALSE;
        case "null" -> null;
        default -> new EnumValue(word);
      };
    }

    private Object number() {
      int start = pos;
      if (s.charAt(pos) == '-') pos++;
      boolean isFloat = false;
      while (pos < s.length()) {
        char c = s.charAt(pos);
        if (c >= '0' && c <= '9') pos++;
        else if (c == '.' || c == 'e' || c == 'E' || ((c == '+' || c == '-') && isFloat)) {
          isFloat = true;
          pos++;
        } else break;
      }
      String literal = s.substring(start, pos);
      try {
        if (isFloat) return Double.parseDouble(literal);
        BigInteger big = new BigInteger(literal);
        return big.bitLength() < 64 ? (Object) big.longValue() : big;
      } catch (NumberFormatException e) {
        throw syntax("a malformed number " + literal);
      }
    }

    private String string() {
      if (s.startsWith("\"\"\"", pos)) {
        int end = s.indexOf("\"\"\"", pos + 3);
        if (end < 0) throw syntax("an unterminated block string");
        String raw = s.substring(pos + 3, end);
        pos = end + 3;
        return raw.replace("\\\"\"\"", "\"\"\"");
      }
      pos++;
      StringBuilder out = new StringBuilder();
      while (true) {
        if (pos >= s.length()) throw syntax("an unterminated string");
        char c = s.charAt(pos++);
        if (c == '"') return out.toString();
        if (c == '\n') throw syntax("an unterminated string");
        if (c != '\\') {
          out.append(c);
          continue;
        }
        if (pos >= s.length()) throw syntax("an unterminated string");
        char e = s.charAt(pos++);
        switch (e) {
          case '"', '\\', '/' -> out.append(e);
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case 'u' -> {
            if (pos + 4 > s.length()) throw syntax("a malformed \\u escape");
            out.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
            pos += 4;
          }
          default -> throw syntax("an unknown escape \\" + e);
        }
      }
    }

    private String name() {
      skipIgnored();
      int start = pos;
      if (!peekNameStart()) throw syntax(pos < s.length() ? "unexpected \"" + s.charAt(pos) + "\"" : "unexpected end of document");
      pos++;
      while (pos < s.length()) {
        char c = s.charAt(pos);
        if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) pos++;
        else break;
      }
      return s.substring(start, pos);
    }

    private void expectName(String expected) {
      String got = name();
      if (!got.equals(expected)) throw syntax("expected \"" + expected + "\", got \"" + got + "\"");
    }

    private boolean peekNameStart() {
      skipIgnored();
      if (pos >= s.length()) return false;
      char c = s.charAt(pos);
      return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private boolean peek(char c) {
      skipIgnored();
      return pos < s.length() && s.charAt(pos) == c;
    }

    private boolean accept(char c) {
      if (!peek(c)) return false;
      pos++;
      return true;
    }

    private void expect(char c) {
      if (!accept(c)) {
        throw syntax("expected \"" + c + "\"" + (pos < s.length() ? ", got \"" + s.charAt(pos) + "\"" : " before the end"));
      }
    }

    private void skipIgnored() {
      while (pos < s.length()) {
        char c = s.charAt(pos);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '\uFEFF') {
          pos++;
        } else if (c == '#') {
          while (pos < s.length() && s.charAt(pos) != '\n' && s.charAt(pos) != '\r') pos++;
        } else {
          return;
        }
      }
    }

    private Error syntax(String what) {
      int line = 1;
      int column = 1;
      for (int i = 0; i < Math.min(pos, s.length()); i++) {
        if (s.charAt(i) == '\n') {
          line++;
          column = 1;
        } else {
          column++;
        }
      }
      return new Error("Parse error at line " + line + ", column " + column + ": " + what, "PARSE_ERROR");
    }
  }
}
