package io.hodei.store;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/** What a query returns, as text the tests can compare: one string per row, columns joined by '|'. */
final class SqlRows {
  private SqlRows() {}

  static List<String> of(DataSource dataSource, String query) {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(query)) {
      int columns = rs.getMetaData().getColumnCount();
      List<String> rows = new ArrayList<>();
      while (rs.next()) {
        List<String> row = new ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          row.add(rs.getString(i));
        }
        rows.add(String.join("|", row));
      }
      return rows;
    } catch (SQLException e) {
      throw new AssertionError(query, e);
    }
  }
}
