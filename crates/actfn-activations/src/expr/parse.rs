//! The recursive-descent parser of formulas, with errors that name the column.
//!
//! ```text
//! sum     := product (('+' | '-') product)*
//! product := unary (('*' | '/') unary)*
//! unary   := '-' unary | power
//! power   := primary ('^' unary)?        the exponent must fold to a constant
//! primary := number | 'x' | '(' sum ')' | name '(' sum (',' sum)* ')'
//! ```
//!
//! `^` binds tighter than a prefix minus (`-x^2` is `-(x^2)`) and is right-associative.

use std::error::Error;
use std::fmt;

use super::build::Builder;
use super::functions::{FUNCTIONS, Function};
use super::{Expr, NodeId};

/// How deeply a formula may nest (parentheses, calls, prefix minuses, exponents), so that
/// the parser's recursion stays far from the end of the stack.
pub(super) const MAX_DEPTH: usize = 256;

/// Why a formula does not parse, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong, without the position.
    pub message: String,
    /// The 1-based column (in characters) where it is.
    pub column: usize,
    /// A known name close to an unknown one, if there is one.
    pub suggestion: Option<String>,
}

impl ParseError {
    fn new(message: impl Into<String>, column: usize) -> Self {
        Self {
            message: message.into(),
            column,
            suggestion: None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at column {}", self.message, self.column)?;
        if let Some(name) = &self.suggestion {
            write!(f, "; did you mean '{name}'?")?;
        }
        Ok(())
    }
}

impl Error for ParseError {}

/// A token's kind.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind<'a> {
    Number(f64),
    Name(&'a str),
    /// One of `+ - * / ^ ( ) ,`.
    Symbol(char),
    End,
}

impl fmt::Display for Kind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Number(v) => write!(f, "'{v}'"),
            Kind::Name(name) => write!(f, "'{name}'"),
            Kind::Symbol(c) => write!(f, "'{c}'"),
            Kind::End => f.write_str("the end of the formula"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    kind: Kind<'a>,
    /// 1-based.
    column: usize,
}

/// Parses a formula of `x`, such as `x * sigmoid(1.702 * x)` or `max(x, 0.1 * x)`.
///
/// Numbers are decimal with an optional exponent (`1e-3`); `^` takes a constant exponent
/// only; the functions are `exp, expm1, log, log1p, sqrt, abs, neg, sin, cos, tanh, sigmoid,
/// softplus, relu, erf, step, sign` of one argument, `max, min` of two, `where_pos(c, a, b)`
/// (`a` where `c > 0`, else `b`), and the built-in activations `leakyrelu` (slope 0.1), `elu`,
/// `swish`, `gelu`, `gelu_tanh`, `mish`, `selu`, `hardswish`, which are expanded into the
/// primitives. Constant subexpressions are folded.
///
/// # Errors
///
/// A [`ParseError`] naming the column for: an empty formula, a character that is not ASCII or
/// not part of the language, a malformed or non-finite number, `nan` or `inf`, an unknown name
/// (with the closest known one within two edits), a call with the wrong number of arguments,
/// an unmatched parenthesis, a non-constant exponent, a division by a constant zero, nesting
/// deeper than 256 levels, and anything left after a complete formula.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = lex(text)?;
    if tokens[0].kind == Kind::End {
        return Err(ParseError::new("empty formula", 1));
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        depth: 0,
        builder: Builder::new(),
    };
    let root = parser.sum()?;
    let token = parser.peek();
    match token.kind {
        Kind::End => Ok(parser.builder.finish(root)),
        Kind::Symbol(')') => Err(ParseError::new("unmatched ')'", token.column)),
        kind => Err(ParseError::new(
            format!("expected an operator or the end of the formula, found {kind}"),
            token.column,
        )),
    }
}

/// Splits `text` into tokens, ending with [`Kind::End`].
fn lex(text: &str) -> Result<Vec<Token<'_>>, ParseError> {
    // Checked first, so that below every character is one byte and byte offsets are columns.
    if let Some((column, c)) = text
        .chars()
        .zip(1..)
        .find_map(|(c, i)| (!c.is_ascii()).then_some((i, c)))
    {
        return Err(ParseError::new(
            format!("non-ASCII character '{c}'"),
            column,
        ));
    }
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c.is_ascii_digit() || c == b'.' {
            i = number_end(bytes, i);
            let literal = &text[start..i];
            let value: f64 = literal
                .parse()
                .map_err(|_| ParseError::new(format!("malformed number '{literal}'"), start + 1))?;
            if !value.is_finite() {
                return Err(ParseError::new(
                    format!("number '{literal}' is too large"),
                    start + 1,
                ));
            }
            Kind::Number(value)
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Kind::Name(&text[start..i])
        } else if b"+-*/^(),".contains(&c) {
            i += 1;
            Kind::Symbol(char::from(c))
        } else {
            return Err(ParseError::new(
                format!("unexpected character '{}'", char::from(c)),
                start + 1,
            ));
        };
        tokens.push(Token {
            kind,
            column: start + 1,
        });
    }
    tokens.push(Token {
        kind: Kind::End,
        column: bytes.len() + 1,
    });
    Ok(tokens)
}

/// Where the number starting at `i` ends: digits, an optional fraction, and an exponent only
/// if digits follow the `e` (so `2e` is `2` followed by the name `e`).
fn number_end(bytes: &[u8], mut i: usize) -> usize {
    let digits = |bytes: &[u8], mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    i = digits(bytes, i);
    if bytes.get(i) == Some(&b'.') {
        i = digits(bytes, i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if bytes.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(bytes, i + 1 + sign);
        }
    }
    i
}

/// Levenshtein's edit distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The known name closest to `name`, if it is within two edits.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    known
        .map(|k| (edit_distance(name, k), k))
        .filter(|&(d, _)| d <= 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k.to_owned())
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    position: usize,
    /// How many `unary` calls are under way: every recursion passes through `unary`.
    depth: usize,
    builder: Builder,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Token<'a> {
        self.tokens[self.position]
    }

    fn next(&mut self) -> Token<'a> {
        let token = self.peek();
        if token.kind != Kind::End {
            self.position += 1;
        }
        token
    }

    fn sum(&mut self) -> Result<NodeId, ParseError> {
        let mut left = self.product()?;
        while let Kind::Symbol(op @ ('+' | '-')) = self.peek().kind {
            self.next();
            let right = self.product()?;
            left = if op == '+' {
                self.builder.add(left, right)
            } else {
                self.builder.sub(left, right)
            };
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<NodeId, ParseError> {
        let mut left = self.unary()?;
        while let Kind::Symbol(op @ ('*' | '/')) = self.peek().kind {
            self.next();
            let column = self.peek().column;
            let right = self.unary()?;
            left = if op == '*' {
                self.builder.mul(left, right)
            } else if self.builder.as_const(right) == Some(0.0) {
                return Err(ParseError::new("division by zero", column));
            } else {
                self.builder.div(left, right)
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<NodeId, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("formula nested more than {MAX_DEPTH} levels deep"),
                self.peek().column,
            ));
        }
        let result = if self.peek().kind == Kind::Symbol('-') {
            self.next();
            let operand = self.unary()?;
            self.builder.neg(operand)
        } else {
            self.power()?
        };
        self.depth -= 1;
        Ok(result)
    }

    fn power(&mut self) -> Result<NodeId, ParseError> {
        let base = self.primary()?;
        if self.peek().kind != Kind::Symbol('^') {
            return Ok(base);
        }
        self.next();
        let column = self.peek().column;
        let exponent = self.unary()?;
        match self.builder.as_const(exponent) {
            Some(p) => Ok(self.builder.pow(base, p)),
            None => Err(ParseError::new(
                "exponent must be a constant number",
                column,
            )),
        }
    }

    fn primary(&mut self) -> Result<NodeId, ParseError> {
        let token = self.next();
        match token.kind {
            Kind::Number(v) => Ok(self.builder.constant(v)),
            Kind::Name("x") => Ok(self.builder.x()),
            Kind::Name(name) => self.call(name, token.column),
            Kind::Symbol('(') => {
                let inner = self.sum()?;
                self.close(token.column)?;
                Ok(inner)
            }
            kind => Err(ParseError::new(
                format!("expected a number, 'x', a function or '(', found {kind}"),
                token.column,
            )),
        }
    }

    /// Consumes the `)` that closes the `(` at `open`.
    fn close(&mut self, open: usize) -> Result<(), ParseError> {
        let token = self.next();
        match token.kind {
            Kind::Symbol(')') => Ok(()),
            Kind::End => Err(ParseError::new("unmatched '('", open)),
            kind => Err(ParseError::new(
                format!("expected ')' to close the '(' at column {open}, found {kind}"),
                token.column,
            )),
        }
    }

    /// A call of the function `name`, whose name is at `column`.
    fn call(&mut self, name: &str, column: usize) -> Result<NodeId, ParseError> {
        if ["nan", "inf", "infinity"].contains(&name.to_ascii_lowercase().as_str()) {
            return Err(ParseError::new(
                format!("'{name}' is not allowed: numbers must be finite"),
                column,
            ));
        }
        let open = self.peek();
        let Some(function) = Function::named(name) else {
            let known = FUNCTIONS.iter().map(|&(n, _)| n);
            let (message, suggestion) = if open.kind == Kind::Symbol('(') {
                (format!("unknown function '{name}'"), closest(name, known))
            } else {
                (
                    format!("unknown name '{name}' (the variable is 'x')"),
                    closest(name, std::iter::once("x").chain(known)),
                )
            };
            return Err(ParseError {
                message,
                column,
                suggestion,
            });
        };
        if open.kind != Kind::Symbol('(') {
            return Err(ParseError::new(
                format!("expected '(' after '{name}'"),
                open.column,
            ));
        }
        self.next();
        let mut args = vec![self.sum()?];
        while self.peek().kind == Kind::Symbol(',') {
            self.next();
            args.push(self.sum()?);
        }
        self.close(open.column)?;
        let arity = function.arity();
        if args.len() != arity {
            let plural = if arity == 1 { "" } else { "s" };
            return Err(ParseError::new(
                format!(
                    "'{name}' takes {arity} argument{plural}, found {}",
                    args.len()
                ),
                column,
            ));
        }
        Ok(function.apply(&mut self.builder, &args))
    }
}
