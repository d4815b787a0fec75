package io.hodei.store;

import io.hodei.core.job.JobQuery;
import io.hodei.core.job.JobState;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The {@code WHERE} clause of a job listing, over {@code jobs j}, and its parameters in order.
 *
 * @param parameters each a {@link String}, {@link Long} or {@link Integer}
 */
record JobFilter(String whereClause, List<Object> parameters) {
  /**
   * Escapes LIKE's wildcards in a prefix; {@code !} rather than {@code \} reads the same
   * everywhere.
   */
  private static final char LIKE_ESCAPE = '!';

  JobFilter {
    parameters = List.copyOf(parameters);
  }

  static JobFilter of(JobQuery query, Optional<PageToken> after) {
    List<String> conditions = new ArrayList<>();
    List<Object> parameters = new ArrayList<>();

    if (!query.states().isEmpty()) {
      List<String> states = query.states().stream().map(JobState::name).sorted().toList();
      conditions.add(
          "j.state IN (" + String.join(", ", states.stream().map(s -> "?").toList()) + ")");
      parameters.addAll(states);
    }
    Optional<String> prefix = query.namePrefix().filter(p -> !p.isEmpty());
    if (prefix.isPresent()) {
      // LIKE narrows the rows; SUBSTR makes the match case-sensitive, which SQLite's LIKE is not.
      conditions.add("j.name LIKE ? ESCAPE '" + LIKE_ESCAPE + "' AND SUBSTR(j.name, 1, ?) = ?");
      String p = prefix.get();
      parameters.add(escapeLike(p) + "%");
      parameters.add(p.codePointCount(0, p.length()));
      parameters.add(p);
    }
    query
        .createdAfter()
        .ifPresent(
            t -> {
              conditions.add("j.created_at > ?");
              parameters.add(Jdbc.millis(t));
            });
    query
        .createdBefore()
        .ifPresent(
            t -> {
              conditions.add("j.created_at < ?");
              parameters.add(Jdbc.millis(t));
            });
    query
        .owner()
        .ifPresent(
            o -> {
              conditions.add("j.owner = ?");
              parameters.add(o);
            });
    for (Map.Entry<String, String> label : new TreeMap<>(query.labels()).entrySet()) {
      conditions.add(
          "EXISTS (SELECT 1 FROM job_labels l"
              + " WHERE l.job_id = j.id AND l.label_key = ? AND l.label_value = ?)");
      parameters.add(label.getKey());
      parameters.add(label.getValue());
    }
    after.ifPresent(
        token -> {
          conditions.add("(j.created_at < ? OR (j.created_at = ? AND j.id < ?))");
          parameters.add(token.createdAtMillis());
          parameters.add(token.createdAtMillis());
          parameters.add(token.jobId());
        });

    String where = conditions.isEmpty() ? "" : "WHERE " + String.join(" AND ", conditions);
    return new JobFilter(where, parameters);
  }

  /** Binds the parameters from index {@code first}; returns the next free index. */
  int bind(PreparedStatement ps, int first) throws SQLException {
    int index = first;
    for (Object parameter : parameters) {
      switch (parameter) {
        case String s -> ps.setString(index, s);
        case Long l -> ps.setLong(index, l);
        case Integer i -> ps.setInt(index, i);
        default -> throw new IllegalStateException("unexpected parameter " + parameter);
      }
      index++;
    }
    return index;
  }

  static String escapeLike(String literal) {
    StringBuilder escaped = new StringBuilder(literal.length() + 8);
    for (char ch : literal.toCharArray()) {
      if (ch == '%' || ch == '_' || ch == LIKE_ESCAPE) {
        escaped.append(LIKE_ESCAPE);
      }
      escaped.append(ch);
    }
    return escaped.toString();
  }
}
